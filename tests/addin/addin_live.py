"""The running pieces of the add-in tests: exchangesim, vmrsched (engine and web) and Chromium.

`LiveVmrsched` runs the real service as `vmrsched run` does (the supervisor with the mailbox
tasks and the web task serving the add-in, its API and its config) on a thread of its own,
against exchangesim over HTTPS with the demo tenant and its add-in app registrations.
`OutlookPane` is the task pane from that service in Debian's Chromium, inside a stand-in for
Outlook's compose form (``outlook_standin.js``): the Office.js appointment API, and the nested app
authentication bridge that Office.js offers MSAL.js, whose broker hands the vendored MSAL.js
tokens that exchangesim's token endpoint issues over HTTP (`user_token`), and Exchange identity
tokens that exchangesim issues over EWS (`outlook_tokens.identity_token`).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import threading
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest
import requests

from outlook_tokens import identity_token
from vmrsched import bootstrap
from vmrsched.cli.commands import web_options
from vmrsched.cli.demo import free_listen
from vmrsched.cli.demo_tenant import demo_settings, organizer_account
from vmrsched.config import settings_from_mapping
from vmrsched.service.runtime import service_tasks
from vmrsched.service.supervisor import Supervisor
from vmrsched.web.app import build_app
from vmrsched.web.manifest import manifest_id
from vmrsched.web.server import web_task

if TYPE_CHECKING:
    from collections.abc import Callable

    from playwright.sync_api import Browser, Page, Response, Route

    from exchangesim.server import RunningServer

HERE: Final = Path(__file__).resolve().parent
OFFICE_JS: Final = "https://appsforoffice.microsoft.com/lib/1/hosted/office.js"
#: The demo tenant's add-in registrations (src/exchangesim/data/demo-tenant.toml).
API_APP: Final = "419b3972-c210-4c86-8bea-05f535b94611"
ADDIN_APP: Final = "de7b0c42-b3d8-4e98-8521-6498b2ab8387"
API_ID_URI: Final = f"api://vmrsched.contoso.com/{API_APP}"
PASSWORDS: Final = {
    "alice@contoso.com": "demo-alice-password-not-real",
    "bob@contoso.com": "demo-bob-password-not-real",
}
WAIT_SECONDS: Final = 30.0
#: The task pane's size in Outlook on the web (its side pane), for the screenshots.
PANE_SIZE: Final = {"width": 360, "height": 480}


def chromium_path() -> str | None:
    """Debian's Chromium (``apt-get install chromium``), or None."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """Chromium's path; skips the test without it, except in CI (``CI=true``), where it fails."""
    found = chromium_path()
    if found is None:
        reason = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI must run the add-in's browser test")
        pytest.skip(reason)
    return found


class LiveVmrsched:
    """vmrsched serving the add-in and watching the resource mailbox, until `stop`."""

    def __init__(
        self,
        server: RunningServer,
        folder: Path,
        *,
        listen: str | None = None,
        meetings: dict[str, Any] | None = None,
        addin: dict[str, Any] | None = None,
    ) -> None:
        self.listen = listen or free_listen("127.0.0.1:0")
        raw = demo_settings(server, folder, self.listen)
        raw["meetings"] = meetings or {}
        raw["web"]["public_url"] = f"http://{self.listen}"
        raw["addin"] = {
            "client_id": ADDIN_APP,
            "api_client_id": API_APP,
            "api_id_uri": API_ID_URI,
            "authority_url": server.base_url,
            **(addin or {}),
        }
        self.settings = settings_from_mapping(raw, base=folder)
        self.components = bootstrap.build(self.settings)
        self.store = self.components.store
        self.mailbox = bootstrap.open_mailbox(self.settings)
        self.url = f"http://{self.listen}"
        self.changed = threading.Condition()
        self.replies = 0
        reply = self.mailbox.reply

        def counted_reply(answer: Any) -> bool:
            sent = reply(answer)
            with self.changed:
                self.replies += 1
                self.changed.notify_all()
            return sent

        self.mailbox.reply = counted_reply  # type: ignore[method-assign]
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        parts = self.components.service_parts(self.mailbox)
        ready = threading.Event()
        tasks = service_tasks(parts)
        app = build_app(web_options(self.components))
        tasks.append(web_task(app, self.listen, on_ready=lambda _: ready.set()))
        supervisor = Supervisor(tasks, grace=timedelta(seconds=5))
        self.loop = asyncio.new_event_loop()
        self.stop_event = asyncio.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(supervisor.run(self.stop_event))

        self.thread = threading.Thread(target=run, name="vmrsched", daemon=True)
        self.thread.start()
        assert ready.wait(WAIT_SECONDS), "vmrsched's web server did not start"

    def stop(self) -> None:
        """Stop serving and watching (the database stays, for a later `LiveVmrsched`)."""
        if self.thread is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
            self.thread.join(timeout=20)
            self.thread = None
            self.loop.close()

    def close(self) -> None:
        self.stop()
        self.mailbox.close()
        self.components.close()

    def wait_for(self, what: str, check: Callable[[], bool]) -> None:
        """Wait until ``check()`` holds, re-checking whenever the service replies."""
        with self.changed:
            assert self.changed.wait_for(check, timeout=WAIT_SECONDS), f"timed out: {what}"


def user_token(server: RunningServer, user: str, client_id: str, scopes: list[str]) -> str:
    """A delegated access token for ``user`` from exchangesim's v2 token endpoint (password grant)."""
    answer = requests.post(
        server.token_endpoint,
        data={
            "grant_type": "password",
            "client_id": client_id,
            "username": user,
            "password": PASSWORDS[user],
            "scope": " ".join(scopes),
        },
        verify=str(server.ca_file),
        timeout=WAIT_SECONDS,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def tampered(token: str) -> str:
    """``token`` with its signature changed: what a forger would send."""
    head, _, signature = token.rpartition(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return f"{head}.{flipped}"


class OutlookPane:
    """The add-in's task pane in Chromium, in a stand-in for Outlook's appointment compose form."""

    def __init__(
        self, browser: Browser, server: RunningServer, user: str, shots: Path, **item: Any
    ) -> None:
        self.server = server
        self.user = user
        self.shots = shots
        self.context = browser.new_context(viewport=PANE_SIZE)
        self.page: Page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda message: self.console.append(message.text))
        self.page.on("pageerror", lambda error: self.console.append(f"page error: {error}"))
        self.page.on("response", self._response)
        self.held: list[Route] = []
        self.reserved: list[dict[str, Any]] = []  # the 201 answers the pane got
        self.hold_reservations = False
        self.context.route(OFFICE_JS, self._office_js)
        self.context.expose_function("vmrTestToken", self._token)
        self.context.expose_function("vmrTestIdentityToken", self._identity_token)
        self.addin_id = ""  # set by `open`: the manifest id Exchange knows the add-in by
        self.context.add_init_script(script=f"window.__outlookInit = {_json(item)};")
        self.context.route("**/api/v1/reservations", self._reservation)

    def _response(self, response: Response) -> None:
        if response.url.endswith("/api/v1/reservations") and response.status == 201:
            self.reserved.append(response.json())

    def _office_js(self, route: Route) -> None:
        route.fulfill(
            status=200,
            content_type="text/javascript",
            body=(HERE / "outlook_standin.js").read_text(encoding="utf-8"),
        )

    def _reservation(self, route: Route) -> None:
        if self.hold_reservations:
            self.held.append(route)
        else:
            route.continue_()

    def _token(self, client_id: str, scopes: list[str], mode: str) -> str:
        token = user_token(self.server, self.user, client_id, scopes)
        return tampered(token) if mode == "tampered" else token

    def _identity_token(self) -> str:
        return identity_token(self.server, self.user, self.addin_id)

    def open(self, vmrsched: LiveVmrsched) -> None:
        self.addin_id = manifest_id(vmrsched.settings)
        self.page.goto(f"{vmrsched.url}/addin/taskpane.html")
        self.page.wait_for_selector("#add-vmr:not([disabled])", timeout=WAIT_SECONDS * 1000)

    def release_held(self) -> None:
        """Let the held reservation requests through."""
        self.hold_reservations = False
        while self.held:
            self.held.pop(0).continue_()

    def run_command(self, vmrsched: LiveVmrsched) -> list[dict[str, Any]]:
        """Load the function file and run its ``addVmr`` as Outlook's ribbon does; the
        notification messages shown, once the command called ``event.completed()``."""
        self.page.goto(f"{vmrsched.url}/addin/commands.html")
        self.page.wait_for_function("() => Boolean(Office.actions.registered.addVmr)")
        self.page.evaluate(
            "() => { window.__completed = 0;"
            " Office.actions.registered.addVmr({ completed: () => { window.__completed += 1; } }); }"
        )
        self.page.wait_for_function("() => window.__completed === 1", timeout=WAIT_SECONDS * 1000)
        shown: list[dict[str, Any]] = self.page.evaluate("() => window.__outlook.notifications")
        return shown

    def click_add(self) -> None:
        self.page.get_by_role("button", name="Add a VMR").click()

    def wait_state(self, state: str) -> str:
        """Wait for the pane to show ``state``; the status text it shows."""
        self.page.wait_for_selector(f"#status[data-state='{state}']", timeout=WAIT_SECONDS * 1000)
        return self.page.inner_text("#status-text")

    def item(self) -> dict[str, Any]:
        """What the stand-in Outlook item now holds."""
        result: dict[str, Any] = self.page.evaluate(
            "() => ({...window.__outlook, start: window.__outlook.start.toISOString(),"
            " end: window.__outlook.end.toISOString()})"
        )
        return result

    def naa(self) -> dict[str, Any]:
        result: dict[str, Any] = self.page.evaluate("() => window.__naa")
        return result

    def set_token_mode(self, mode: str) -> None:
        self.page.evaluate(f"() => {{ window.__naa.mode = {_json(mode)}; }}")

    def screenshot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def close(self) -> None:
        for route in self.held:
            route.abort()
        self.context.close()


def _json(value: Any) -> str:
    return json.dumps(value)


def organizer(server: RunningServer, email: str) -> Any:
    """The organizer's exchangelib account (their mail client)."""
    return organizer_account(server, email)
