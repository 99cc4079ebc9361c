"""One resource mailbox, one installation, whichever API each installation uses: the EWS and
the Graph adapters keep the installation marker in one MAPI property (the Inbox's named
property ``vmrsched.installation``), so `vmrsched run` refuses, and ``--take-over`` moves, a
mailbox across APIs as within one; the user configuration object earlier EWS releases kept is
still recognised and kept up to date, never created anew."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from doctor_support import DEMO_TENANT, admin_config, write_config_file
from exchangelib.errors import ErrorItemNotFound
from exchangelib_client import exchangelib_accounts_fixture  # noqa: F401 (the fixture)
from harness import VMR

from vmrsched import bootstrap
from vmrsched.adapters import installation_property
from vmrsched.cli import commands
from vmrsched.cli.main import main
from vmrsched.config import settings_from_mapping
from vmrsched.ports.mailbox import InstallationMarker
from vmrsched.service import installation

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from exchangelib_client import AccountFactory
    from harness import SimServer

    from vmrsched.ports.mailbox import Mailbox

NOW = datetime.now(UTC).replace(microsecond=0)
LEGACY = "vmrsched.Installation"
APIS = {
    "ews": {"api": "ews", "token_scope": "https://outlook.office365.com/.default"},
    "graph": {"api": "graph", "token_scope": "https://graph.microsoft.com/.default"},
}
NAMES = {"ews": "over EWS", "graph": "over Microsoft Graph"}
BOTH_WAYS = pytest.mark.parametrize(("first", "second"), [("graph", "ews"), ("ews", "graph")])


def config(server: SimServer, folder: Path, api: str) -> dict[str, Any]:
    """An installation's configuration: its own key file in ``folder``, talking ``api``."""
    protocol = {**APIS[api], "ews_url": server.ews_url, "graph_url": f"{server.base_url}/v1.0"}
    if api == "ews":
        del protocol["graph_url"]
    else:
        del protocol["ews_url"]
    return admin_config(server, folder, protocol, {})


class Installation:
    """One installation: its folder (key file, database), API and open mailbox."""

    def __init__(self, server: SimServer, folder: Path, api: str) -> None:
        folder.mkdir(exist_ok=True)
        self.folder, self.api = folder, api
        self.settings = settings_from_mapping(config(server, folder, api), base=folder)
        self.key = bootstrap.installation_key(self.settings).key_id
        self.mailbox: Mailbox = bootstrap.open_mailbox(self.settings)

    def claim(self, at: datetime, *, take_over: bool = False) -> installation.Holding:
        """The bootstrap's claim step, as `vmrsched run` takes it."""
        return installation.claim(self.mailbox, self.key, self.api, lambda: at, take_over=take_over)

    def heartbeat(self, at: datetime) -> None:
        """The heartbeat side task's one run."""
        installation.heartbeat(self.mailbox, self.key, self.api, lambda: at)


class World:
    """One demo-tenant simulator and the installations opened on it, each in its own folder."""

    def __init__(self, server: SimServer, folder: Path) -> None:
        self.server, self.folder = server, folder
        self.opened: list[Installation] = []

    def open(self, api: str) -> Installation:
        """A new installation (its own key) on ``api``."""
        made = Installation(self.server, self.folder / f"{api}-{len(self.opened)}", api)
        self.opened.append(made)
        return made

    def property_values(self) -> list[object]:
        """The values of every extended property on the resource's Inbox, in the store."""
        return [
            value for _, value in self.server.sim.store.folder(VMR, "inbox").extended_properties
        ]


@pytest.fixture
def world(serve: Callable[[str], SimServer], tmp_path: Path) -> Iterator[World]:
    """A simulator for the installations of one test; their mailboxes closed afterwards."""
    made = World(serve(DEMO_TENANT), tmp_path)
    yield made
    for opened in made.opened:
        opened.mailbox.close()


@BOTH_WAYS
def test_a_live_installation_on_one_api_is_refused_to_the_other_until_it_takes_over(
    world: World, first: str, second: str
) -> None:
    """The second installation (the other API) is refused with the holder named, its API said,
    and the --take-over fix; with take_over it claims the mailbox, the first one's next
    heartbeat stops it, and the second keeps its heartbeat."""
    one, two = world.open(first), world.open(second)
    one.claim(NOW)
    with pytest.raises(installation.InstallationConflictError) as refused:
        two.claim(NOW + timedelta(minutes=1))
    assert one.key in str(refused.value)
    assert NAMES[first] in str(refused.value)
    assert "--take-over" in refused.value.fix
    taken = two.claim(NOW + timedelta(minutes=1), take_over=True)
    assert taken.holder is installation.Holder.OTHER_LIVE
    with pytest.raises(installation.InstallationConflictError, match="taken over"):
        one.heartbeat(NOW + timedelta(minutes=5))
    two.heartbeat(NOW + timedelta(minutes=6))
    read = one.mailbox.read_marker()
    assert read == InstallationMarker(two.key, NOW + timedelta(minutes=6), second)
    assert read is not None
    assert read.api == second


@BOTH_WAYS
def test_vmrsched_run_refuses_a_mailbox_a_live_installation_holds_over_the_other_api(
    world: World,
    first: str,
    second: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`vmrsched run --config FILE` with the other API stops before serving: exit 1, the
    holder, its API and the --take-over fix on stderr; the holder's marker is untouched."""

    async def never_serve(tasks: object) -> None:
        # Were the mailbox not refused, run would serve until stopped: fail at once instead.
        pytest.fail(f"vmrsched run went on to serve ({tasks!r})")

    monkeypatch.setattr(commands, "serve", never_serve)
    holder = world.open(first)
    holder.claim(datetime.now(UTC).replace(microsecond=0))
    before = holder.mailbox.read_marker()
    folder = world.folder / "run"
    folder.mkdir()
    path = write_config_file(config(world.server, folder, second), folder / "vmrsched.toml")
    assert main(["run", "--config", str(path)]) == 1
    printed = capsys.readouterr().err
    assert "served by another vmrsched" in printed
    assert f"{holder.key} on {first} {NAMES[first]}" in printed
    assert "--take-over" in printed
    assert holder.mailbox.read_marker() == before


def test_both_apis_write_one_property_on_the_inbox_and_no_configuration_object(
    world: World, exchangelib_accounts: AccountFactory
) -> None:
    """An EWS claim and a Graph claim leave one MAPI property on the Inbox, the writer's API in
    its value; a mailbox that never had the older user configuration object does not get one."""
    ews, graph = world.open("ews"), world.open("graph")
    ews.claim(NOW)
    [value] = world.property_values()
    assert installation_property.decode(value) == InstallationMarker(ews.key, NOW, "ews")
    assert '"Api":"ews"' in str(value)
    graph.claim(NOW + timedelta(hours=1), take_over=True)
    [value] = world.property_values()
    assert '"Api":"graph"' in str(value)
    ews.mailbox.read_marker()
    account = exchangelib_accounts(world.server, VMR)
    with pytest.raises(ErrorItemNotFound):
        account.root.get_user_configuration(name=LEGACY)


def _legacy(account: Any, key: str, heartbeat: datetime, host: str) -> None:
    """The user configuration object as earlier EWS releases created it."""
    dictionary = {"InstallationId": key, "Heartbeat": heartbeat, "Host": host}
    account.root.create_user_configuration(name=LEGACY, dictionary=dictionary)


def test_an_earlier_ews_release_is_recognised_kept_informed_and_stopped(
    world: World, exchangelib_accounts: AccountFactory
) -> None:
    """A live marker in the older configuration object (an EWS installation not yet upgraded)
    refuses a new EWS installation; taking over writes the Inbox property and updates the
    object, so the older installation, which reads only the object, sees it was taken over."""
    account = exchangelib_accounts(world.server, VMR)
    _legacy(account, "01d0ld01", NOW - timedelta(minutes=2), "old-vm")
    upgraded = world.open("ews")
    with pytest.raises(installation.InstallationConflictError, match="01d0ld01 on old-vm over EWS"):
        upgraded.claim(NOW)
    upgraded.claim(NOW, take_over=True)
    dictionary = account.root.get_user_configuration(name=LEGACY).dictionary
    assert (dictionary["InstallationId"], dictionary["Host"]) == (upgraded.key, "ews")
    assert dictionary["Heartbeat"] == NOW
    [value] = world.property_values()
    assert installation_property.decode(value) == InstallationMarker(upgraded.key, NOW, "ews")


def test_the_newer_of_the_two_places_is_the_holder(
    world: World, exchangelib_accounts: AccountFactory
) -> None:
    """An older configuration object left by an installation gone long ago does not hide the
    Inbox property written after it, and a configuration object written after the property
    (an older release taking over) wins over it."""
    account = exchangelib_accounts(world.server, VMR)
    _legacy(account, "01d0ld01", NOW - timedelta(days=30), "old-vm")
    graph, ews = world.open("graph"), world.open("ews")
    graph.claim(NOW)
    assert ews.mailbox.read_marker() == InstallationMarker(graph.key, NOW, "graph")
    account.root.update_user_configuration(
        name=LEGACY,
        dictionary={"InstallationId": "01d0ld01", "Heartbeat": NOW + timedelta(minutes=1)},
    )
    assert ews.mailbox.read_marker() == InstallationMarker("01d0ld01", NOW + timedelta(minutes=1))


@pytest.mark.xfail(
    strict=True,
    reason="Graph has no API for user configuration objects (FAI items): a Graph installation "
    "cannot see an EWS installation of an earlier release until that one is upgraded",
)
def test_a_graph_installation_sees_an_earlier_ews_release(
    world: World, exchangelib_accounts: AccountFactory
) -> None:
    """A live marker only in the older configuration object refuses a Graph installation."""
    account = exchangelib_accounts(world.server, VMR)
    _legacy(account, "01d0ld01", NOW - timedelta(minutes=2), "old-vm")
    with pytest.raises(installation.InstallationConflictError):
        world.open("graph").claim(NOW)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "not json",
        "[]",
        '{"InstallationId": "", "Heartbeat": "2027-03-01T09:00:00Z"}',
        '{"InstallationId": "a", "Heartbeat": "yesterday"}',
        '{"InstallationId": "a", "Heartbeat": "2027-03-01T09:00:00"}',
    ],
)
def test_a_value_not_ours_in_shape_is_no_marker(value: str | None) -> None:
    """Whichever API read it, a value that is not our JSON is no marker, not a crash."""
    assert installation_property.decode(value) is None


def test_a_value_reads_back_as_written_with_its_api() -> None:
    """encode/decode round-trip, the API kept; an unknown API reads as unknown."""
    marker = InstallationMarker("a1", NOW, "vm")
    assert installation_property.decode(installation_property.encode(marker, "ews")) == marker
    decoded = installation_property.decode(installation_property.encode(marker, "smtp"))
    assert decoded is not None
    assert decoded.api == ""
