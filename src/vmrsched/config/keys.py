"""The installation key: 32 random bytes in an owner-only file, signing every alias token.

Losing it makes every alias token in every meeting invalid (they would be declined or healed),
so back it up with the database.
"""

import base64
import binascii
import os
import secrets
from pathlib import Path

from vmrsched.config.settings import ConfigError, ConfigProblem
from vmrsched.domain.tokens import TokenKey

_KEY_HEADER = "vmrsched-installation-key-v1 "
_WHERE = "service.installation_key_file"


def load_installation_key(path: Path) -> TokenKey:
    """The installation key kept in ``path``; ConfigError with the fix when it is unusable."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not a key file"
        fix = "run the service once to create it, or restore it from your backup"
        raise ConfigError([ConfigProblem(_WHERE, f"cannot read {path}: {reason}", fix)]) from exc
    fix = "restore the file from your backup (a new key makes every alias token invalid)"
    problem = ConfigProblem(_WHERE, f"{path} is not a vmrsched key file", fix)
    if not text.startswith(_KEY_HEADER):
        raise ConfigError([problem])
    try:
        return TokenKey(base64.urlsafe_b64decode(text.removeprefix(_KEY_HEADER) + "=="))
    except (ValueError, binascii.Error) as exc:
        raise ConfigError([problem]) from exc


def ensure_installation_key(path: Path) -> TokenKey:
    """The key in ``path``, created (32 random bytes, owner-only file) when there is none yet."""
    material = secrets.token_bytes(32)
    encoded = base64.urlsafe_b64encode(material).decode("ascii").rstrip("=")
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_installation_key(path)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(f"{_KEY_HEADER}{encoded}\n")
    return TokenKey(material)
