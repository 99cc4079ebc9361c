"""Loading: read the TOML file, lay the environment over it, convert, check, build `Settings`.

Every setting has a key ``[section] name`` in the file and an environment variable
``VMRSCHED_<SECTION>__<NAME>`` that wins over it (``VMRSCHED_EXCHANGE__CLIENT_SECRET``); deeper
keys nest with more ``__`` (``VMRSCHED_TEMPLATES__REJECT_GENERAL_ERROR__TEXT``). Environment
names without ``__`` are not configuration (``VMRSCHED_REQUIRE_POSTGRES`` belongs to the tests).
"""

import dataclasses
import difflib
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from vmrsched.config.checks import (
    ENV_PREFIX,
    check_addin,
    check_aliases,
    check_database,
    check_exchange,
    check_meetings,
    check_service,
    check_video,
    check_web,
    env_hint,
)
from vmrsched.config.settings import (
    SECTIONS,
    AddinSettings,
    AliasSettings,
    ConfigError,
    ConfigProblem,
    DatabaseSettings,
    ExchangeSettings,
    MeetingSettings,
    ReservationSettings,
    Secret,
    ServiceSettings,
    Settings,
    VideoSettings,
    WebSettings,
)
from vmrsched.domain.templates import TemplateError, TemplateName, TemplateSet, TemplateSource
from vmrsched.templates import default_sources

_TEMPLATE_KEYS = frozenset({"html", "text", "html_file", "text_file"})


def _env_tree(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    tree: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or "__" not in name[len(ENV_PREFIX) :]:
            continue
        parts = [part.lower() for part in name[len(ENV_PREFIX) :].split("__")]
        node = tree
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):  # a template given as text, extended by __TEXT
                child = {} if child is None else {"html": child}
                node[part] = child
            node = child
        node[parts[-1]] = environ[name]
        origins[".".join(parts)] = name
    return tree, origins


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        current = merged.get(key)
        if isinstance(value, dict):
            if isinstance(current, str):  # a template given as text, extended from the env
                current = {"html": current}
            merged[key] = _merge(current if isinstance(current, dict) else {}, value)
        else:
            merged[key] = value
    return merged


def _unknown(path: str, key: str, known: list[str]) -> ConfigProblem:
    close = difflib.get_close_matches(key, known, n=1)
    fix = f"did you mean {close[0]!r}?" if close else f"known here: {', '.join(sorted(known))}"
    return ConfigProblem(path, "unknown setting", fix)


_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def _convert(value: Any, kind: Any, *, from_env: bool, base: Path) -> Any:
    """``value`` as ``kind`` (the field's type); ValueError says what was expected."""
    if isinstance(kind, types.UnionType):
        inner = next(arg for arg in typing.get_args(kind) if arg is not type(None))
        if from_env and value == "":
            return None
        return _convert(value, inner, from_env=from_env, base=base)
    origin = typing.get_origin(kind)
    if origin is tuple:
        if from_env and isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise TypeError("expected a list of text values")
        return tuple(value)
    if kind is bool:
        if from_env and isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        if not isinstance(value, bool):
            raise TypeError("expected true or false")
        return value
    if kind is int:
        if from_env and isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError("expected a whole number")
        return value
    if kind is date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise ValueError("expected a date such as 2027-03-31") from None
    if not isinstance(value, str):
        raise TypeError("expected text")
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        try:
            return kind(value.strip().lower())
        except ValueError:
            allowed = ", ".join(f'"{member.value}"' for member in kind)
            raise ValueError(f"expected one of {allowed}") from None
    if kind is Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else base / path
    if kind is Secret:
        return Secret(value)
    return value


def _section(
    name: str, raw: Mapping[str, Any], origins: Mapping[str, str], base: Path
) -> tuple[dict[str, Any], list[ConfigProblem]]:
    cls = SECTIONS[name]
    hints = typing.get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls)]
    values: dict[str, Any] = {}
    problems = [_unknown(f"{name}.{key}", key, known) for key in raw if key not in known]
    for f in dataclasses.fields(cls):
        path = f"{name}.{f.name}"
        if f.name not in raw:
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if required:
                fix = f"set {f.name} in [{name}], or the environment variable {env_hint(path)}"
                problems.append(ConfigProblem(path, "required, but not set", fix))
            continue
        origin = origins.get(path)
        try:
            values[f.name] = _convert(
                raw[f.name], hints[f.name], from_env=origin is not None, base=base
            )
        except (TypeError, ValueError) as exc:  # never quotes the value: it may be a secret
            where = f" (from {origin})" if origin else ""
            problems.append(ConfigProblem(path, f"{exc}{where}"))
    return values, problems


def compile_templates(sources: Mapping[TemplateName, TemplateSource]) -> TemplateSet:
    """The default templates with ``sources`` overriding them; TemplateError on any problem."""
    merged = {
        TemplateName(name): TemplateSource(html, text)
        for name, (html, text) in default_sources().items()
    }
    return TemplateSet.compile(merged | dict(sources))


def _template_sources(
    raw: Mapping[str, Any], base: Path, out: list[ConfigProblem]
) -> dict[TemplateName, TemplateSource]:
    names = [name.value for name in TemplateName]
    sources: dict[TemplateName, TemplateSource] = {}
    for key, value in raw.items():
        path = f"templates.{key}"
        if key not in names:
            out.append(_unknown(path, key, names))
            continue
        if isinstance(value, str):
            sources[TemplateName(key)] = TemplateSource(value)
            continue
        if not isinstance(value, dict):
            out.append(ConfigProblem(path, "expected text or a table with html and text"))
            continue
        parts: dict[str, str] = {}
        for part, given in value.items():
            if part not in _TEMPLATE_KEYS or not isinstance(given, str):
                out.append(_unknown(f"{path}.{part}", part, sorted(_TEMPLATE_KEYS)))
                continue
            if part.endswith("_file"):
                file = Path(given) if Path(given).is_absolute() else base / given
                try:
                    given = file.read_text(encoding="utf-8")  # noqa: PLW2901 - the file's text
                except OSError as exc:
                    out.append(
                        ConfigProblem(f"{path}.{part}", f"cannot read {file}: {exc.strerror}")
                    )
                    continue
            parts[part.removesuffix("_file")] = given
        if "html" not in parts:
            out.append(ConfigProblem(path, "needs html (or html_file)"))
            continue
        sources[TemplateName(key)] = TemplateSource(parts["html"], parts.get("text"))
    return sources


def load_settings(
    path: Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read ``path`` (optional) and the environment; ConfigError lists every problem at once.

    Relative paths in the file are relative to the file's folder (to the working folder when
    there is no file).
    """
    environ = os.environ if environ is None else environ
    if path is None:
        return settings_from_mapping({}, base=Path.cwd(), environ=environ)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        problem = ConfigProblem(str(path), f"cannot read it: {exc.strerror}")
        raise ConfigError([problem], str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        problem = ConfigProblem(str(path), f"not valid TOML: {exc}")
        raise ConfigError([problem], str(path)) from exc
    return settings_from_mapping(raw, base=path.parent.resolve(), environ=environ, source=str(path))


def settings_from_mapping(
    raw: Mapping[str, Any],
    *,
    base: Path,
    environ: Mapping[str, str] | None = None,
    source: str = "the configuration",
) -> Settings:
    """Settings from a parsed TOML document (the demo and tests build one in code).

    ``environ`` (none by default here) is laid over it; relative paths are taken from ``base``.
    """
    tree, origins = _env_tree(environ or {})
    raw = _merge(dict(raw), tree)
    problems: list[ConfigProblem] = []
    known = [*SECTIONS, "templates"]
    for key, value in raw.items():
        if key not in known:
            problems.append(_unknown(key, key, known))
        elif not isinstance(value, dict):
            problems.append(ConfigProblem(key, f"expected a table: [{key}]"))
    sections: dict[str, dict[str, Any]] = {}
    for name in SECTIONS:
        given = raw.get(name, {})
        values, found = _section(name, given if isinstance(given, dict) else {}, origins, base)
        problems += found
        sections[name] = values
    check_exchange(sections["exchange"], problems)
    check_aliases(sections["aliases"], problems)
    check_meetings(sections["meetings"], problems)
    check_database(sections["database"], problems, base)
    check_web(sections["web"], problems)
    check_video(sections["video"], problems)
    check_service(sections["service"], problems, base)
    check_addin(sections["addin"], sections["exchange"], problems)
    given_templates = raw.get("templates", {})
    overrides = _template_sources(
        given_templates if isinstance(given_templates, dict) else {}, base, problems
    )
    templates: TemplateSet | None = None
    try:
        templates = compile_templates(overrides)
    except TemplateError as exc:
        problems += [
            ConfigProblem(f"templates.{p.name}", f"{p.variant}: {p.message}") for p in exc.problems
        ]
    if problems or templates is None:
        raise ConfigError(problems, source)
    return Settings(
        exchange=ExchangeSettings(**sections["exchange"]),
        aliases=AliasSettings(**sections["aliases"]),
        meetings=MeetingSettings(**sections["meetings"]),
        reservations=ReservationSettings(**sections["reservations"]),
        database=DatabaseSettings(**sections["database"]),
        web=WebSettings(**sections["web"]),
        video=VideoSettings(**sections["video"]),
        service=ServiceSettings(**sections["service"]),
        addin=AddinSettings(**sections["addin"]),
        templates=templates,
        overridden_templates=tuple(sorted(overrides)),
    )
