"""The add-in's files, config.json and manifest.xml as served: types, caching, CSP, no secrets."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from addin_support import ADDIN_APP, API_SCOPE, TENANT_ID, AddinApp, make_settings, start_addin_app

from vmrsched.web.files import find_addin_root
from vmrsched.web.manifest import build_manifest

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from addin_support import Clock

    from vmrsched.adapters.db import SqlStore


@pytest.fixture
async def files_app(
    tmp_path: Path, entra: str, store: SqlStore, clock: Clock
) -> AsyncIterator[AddinApp]:
    """The app serving a small add-in folder of its own."""
    root = tmp_path / "web"
    (root / "assets").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "taskpane.html").write_text("<!doctype html><title>pane</title>")
    (root / "src" / "addvmr.js").write_text("export const x = 1;\n")
    (root / "assets" / "icon-16.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    (root / ".env").write_text("SECRET=1")
    (tmp_path / "outside.txt").write_text("not served")
    app = await start_addin_app(make_settings(tmp_path, entra), store, clock, files_root=root)
    yield app
    await app.client.close()


async def test_pages_carry_a_csp_for_office_and_outlook_frames(files_app: AddinApp) -> None:
    """HTML: Office.js allowed, only Outlook's hosts may frame it, revalidated on each load."""
    response = await files_app.client.get("/addin/taskpane.html")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    csp = dict(
        part.strip().split(" ", 1)
        for part in response.headers["Content-Security-Policy"].split(";")
    )
    assert "https://appsforoffice.microsoft.com" in csp["script-src"]
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    assert csp["connect-src"].startswith("'self'")
    assert "https://outlook.office.com" in csp["frame-ancestors"]
    assert "https://outlook.office365.com" in csp["frame-ancestors"]
    assert csp["object-src"] == "'none'"
    assert "X-Frame-Options" not in response.headers  # it would keep Outlook from framing it


async def test_files_have_etags_and_answer_304(files_app: AddinApp) -> None:
    """A strong ETag per content; If-None-Match with it gets 304 without a body."""
    first = await files_app.client.get("/addin/src/addvmr.js")
    assert first.status == 200
    assert first.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert first.headers["Cache-Control"] == "public, max-age=3600"
    assert "Content-Security-Policy" not in first.headers
    etag = first.headers["ETag"]
    again = await files_app.client.get("/addin/src/addvmr.js", headers={"If-None-Match": etag})
    assert again.status == 304
    assert await again.read() == b""
    other = await files_app.client.get("/addin/src/addvmr.js", headers={"If-None-Match": '"x"'})
    assert other.status == 200
    icon = await files_app.client.get("/addin/assets/icon-16.png")
    assert icon.headers["Content-Type"] == "image/png"
    assert icon.headers["ETag"] != etag


@pytest.mark.parametrize(
    "path",
    [
        "/addin/../outside.txt",
        "/addin/%2e%2e/outside.txt",
        "/addin/..%2foutside.txt",
        "/addin/.env",
        "/addin/nope.js",
        "/addin/taskpane.html%00",
        "/addin/a%00b/taskpane.html",
    ],
)
async def test_nothing_outside_the_folder_is_served(files_app: AddinApp, path: str) -> None:
    """Traversal (encoded too), hidden files, missing files and NUL in a name are 404, not 500."""
    response = await files_app.client.get(path)
    assert response.status == 404


async def test_config_json_has_what_the_browser_needs_and_no_secret(
    files_app: AddinApp,
) -> None:
    """API base, resource mailbox, labels, NAA parameters, the placeholder with its marker."""
    response = await files_app.client.get("/addin/config.json")
    assert response.status == 200
    text = await response.text()
    assert files_app.settings.exchange.client_secret.reveal() not in text
    config = await response.json()
    assert config["api_base"] == "https://vmrsched.contoso.com"
    assert config["resource_mailbox"] == "vmr@contoso.com"
    assert config["labels"]["button"] == "Add a VMR"
    assert config["auth"]["kind"] == "naa"
    assert config["auth"]["client_id"] == ADDIN_APP
    assert config["auth"]["authority"].endswith(f"/{TENANT_ID}")
    assert config["auth"]["scopes"] == [API_SCOPE]
    assert "{{placeholder_token}}" in config["placeholder"]["html"]
    assert "{{placeholder_token}}" in config["placeholder"]["text"]
    assert 'class="vmrsched-placeholder"' in config["placeholder"]["html"]


async def test_manifest_xml_is_the_generated_manifest(files_app: AddinApp) -> None:
    """GET /addin/manifest.xml serves exactly what ``vmrsched addin-manifest`` prints."""
    response = await files_app.client.get("/addin/manifest.xml")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert await response.text() == build_manifest(files_app.settings)


def test_the_source_checkout_add_in_is_found() -> None:
    """From a source checkout the service finds addin/web/ with its task pane."""
    root = find_addin_root()
    assert root is not None
    assert (root / "taskpane.html").is_file()
    assert (root / "commands.html").is_file()
