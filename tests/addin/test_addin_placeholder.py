"""The add-in's own placeholder (used when even config.json cannot be read) is the service's.

``addin/web/src/placeholder.js`` carries a copy of the default placeholder block for when the
browser cannot reach vmrsched at all; this test runs it in node and compares it with what
`vmrsched.domain.instructions.placeholder_block` renders, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from vmrsched.config.loading import compile_templates
from vmrsched.domain.instructions import placeholder_block

ADDIN = Path(__file__).resolve().parents[2] / "addin"
MARKER = "{{placeholder_token}}"


def node_fallback() -> dict[str, str]:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node is not installed: CI must run the add-in's checks")
        pytest.skip("node is not installed (apt-get install nodejs)")
    script = (
        "import('./web/src/placeholder.js')"
        ".then((m) => process.stdout.write(JSON.stringify(m.FALLBACK_TEMPLATE)))"
    )
    done = subprocess.run(
        [node, "--input-type=module", "-e", script],
        cwd=ADDIN,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: dict[str, str] = json.loads(done.stdout)
    return result


def test_the_browser_fallback_placeholder_is_the_services_default_block() -> None:
    """HTML and text of the add-in's fallback equal placeholder_block with the default templates."""
    block = placeholder_block(compile_templates({}), MARKER)
    fallback = node_fallback()
    assert fallback == {"html": block.html, "text": block.text}
