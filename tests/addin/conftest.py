"""Fixtures for the add-in's browser and full-loop tests: exchangesim, vmrsched and Chromium."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from addin_live import LiveVmrsched, require_chromium

from exchangesim.server import start_in_thread
from exchangesim.sim import Simulator
from exchangesim.tenant import demo_tenant

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser

    from exchangesim.server import RunningServer

#: Set to 1 to copy this run's screenshots into docs/addin/ (they are not rewritten otherwise).
SCREENSHOTS_FLAG = "VMRSCHED_UPDATE_SCREENSHOTS"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "addin"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    running = start_in_thread(Simulator.from_tenant(demo_tenant()), "127.0.0.1", 0, tls=True)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(running.ca_file))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    yield running
    running.stop()


@pytest.fixture
def vmrsched(server: RunningServer, tmp_path: Path) -> Iterator[LiveVmrsched]:
    live = LiveVmrsched(server, tmp_path)
    live.start()
    yield live
    live.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module. Not for the session: while Playwright's sync API runs, the
    main thread has a running event loop, and later asyncio tests could not start theirs."""
    executable = require_chromium()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only with chromium

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where this run's screenshots go; copied into docs/addin/ only when asked to."""
    folder = tmp_path_factory.mktemp("addin-screenshots")
    yield folder
    if os.environ.get(SCREENSHOTS_FLAG) == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        for picture in sorted(folder.glob("*.png")):
            shutil.copyfile(picture, DOCS / picture.name)
