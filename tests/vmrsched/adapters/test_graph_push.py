"""The Graph adapter's subscription (`GraphPush`): what it asks Graph for, which notifications
it trusts, when it renews and when it subscribes again. Graph is a recording stand-in here
(the live behaviour against exchangesim is in tests/vmrsched/service/test_graph_push_end_to_end.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from vmrsched.adapters.graph.push import LIFETIME, RENEW_BEFORE, GraphPush, push_urls
from vmrsched.adapters.graph.transport import Answer

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class RecordingGraph:
    """Answers subscription requests as Graph does, and keeps them."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any]] = []
        self.gone: set[str] = set()

    def request(
        self, method: str, path: str, *, what: str, body: Any = None, accept: Any = (), **_: Any
    ) -> Answer:
        del what
        if method == "GET" and path == "/subscriptions":
            return Answer(200, {}, {"value": []})
        self.sent.append((method, path, body))
        if method == "POST":
            return Answer(201, {}, {"id": f"sub-{len(self.sent)}", **body})
        if path.rsplit("/", 1)[-1] in self.gone and 404 in accept:
            return Answer(404, {}, {"error": {"code": "ResourceNotFound"}})
        return Answer(200, {}, body)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def graph() -> RecordingGraph:
    return RecordingGraph()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def push(graph: RecordingGraph, clock: Clock) -> GraphPush:
    made = GraphPush(
        graph,  # type: ignore[arg-type]
        user_path="/users/vmr%40contoso.com",
        notification_url="https://vmrsched.contoso.com/graph/notifications",
        lifecycle_url="https://vmrsched.contoso.com/graph/lifecycle",
        clock=clock,
    )
    assert made.maintain() is True
    return made


def secret_of(graph: RecordingGraph, index: int = 0) -> str:
    posts = [body for method, _, body in graph.sent if method == "POST"]
    return str(posts[index]["clientState"])


def notification(sub_id: str | None, state: str, **extra: Any) -> dict[str, Any]:
    return {"value": [{"subscriptionId": sub_id, "clientState": state, **extra}]}


def test_the_subscription_asks_for_created_inbox_messages_only_with_a_lifecycle_url(
    graph: RecordingGraph, push: GraphPush
) -> None:
    """One POST /subscriptions: the inbox's messages, created only (the delta the service
    reads is created-only, so updates could show it nothing), both URLs, an expiry within
    Graph's 10070 minutes and a long random clientState."""
    ((method, path, body),) = graph.sent
    assert (method, path) == ("POST", "/subscriptions")
    assert body["resource"] == "users/vmr%40contoso.com/mailFolders('inbox')/messages"
    assert body["changeType"] == "created"
    assert body["notificationUrl"].endswith("/graph/notifications")
    assert body["lifecycleNotificationUrl"].endswith("/graph/lifecycle")
    expires = datetime.fromisoformat(body["expirationDateTime"])
    assert START < expires <= START + timedelta(minutes=10070)
    assert len(body["clientState"]) >= 32
    assert push.healthy


def test_each_subscription_gets_its_own_client_state(graph: RecordingGraph, clock: Clock) -> None:
    """Two installations (or two subscriptions in a row) never share a secret."""
    for _ in range(2):
        GraphPush(
            graph,  # type: ignore[arg-type]
            user_path="/users/vmr",
            notification_url="https://x/graph/notifications",
            lifecycle_url="https://x/graph/lifecycle",
            clock=clock,
        ).maintain()
    assert secret_of(graph, 0) != secret_of(graph, 1)


def test_a_notification_with_the_right_client_state_wakes_the_wait_until_a_delta_round_answers_it(
    graph: RecordingGraph, push: GraphPush
) -> None:
    """Our subscription id with its clientState: trusted, the waiting watcher wakes, and
    keeps being woken until a delta round that began after the notification has ended."""
    assert push.notified(notification(push.subscription_id, secret_of(graph))) == 1
    assert push.wait(0) is True
    assert push.wait(0) is True  # no delta read yet: still unanswered
    push.pending.round_ended(push.pending.round_begins())
    assert push.wait(0) is False


def test_a_notification_with_a_wrong_client_state_is_ignored_and_logged_without_secrets(
    graph: RecordingGraph, push: GraphPush
) -> None:
    """A wrong clientState, an unknown subscription or a body that is no notification wakes
    nothing; the log says so and never shows a clientState."""
    secret = secret_of(graph)
    seconds = iter(range(0, 1000, 20))  # each call 20 s after the one before
    push._monotonic = lambda: float(next(seconds))
    with capture_logs() as logged:
        assert push.notified(notification(push.subscription_id, secret[:-1] + "x")) == 0
        assert push.notified(notification("someone-else", secret)) == 0
        assert push.notified({"value": "nonsense"}) == 0
        assert push.lifecycle(notification(push.subscription_id, "guess")) == 0
    assert push.wait(0) is False
    ignored = [e for e in logged if e["event"] == "graph_notification_ignored"]
    # at most one line a minute, each counting what it stands for: 1, then 3 more
    assert [e["ignored"] for e in ignored] == [1, 3]
    assert secret not in repr(logged)


def test_the_subscription_is_renewed_when_a_day_of_life_is_left(
    graph: RecordingGraph, clock: Clock, push: GraphPush
) -> None:
    """On the injected clock: no renewal while more than `RENEW_BEFORE` is left; then one
    PATCH with a new expiry, `LIFETIME` from now."""
    clock.now = START + LIFETIME - RENEW_BEFORE - timedelta(minutes=1)
    assert push.maintain() is False
    assert len(graph.sent) == 1
    clock.now += timedelta(minutes=2)
    assert push.maintain() is False
    method, path, body = graph.sent[-1]
    assert (method, path) == ("PATCH", f"/subscriptions/{push.subscription_id}")
    assert datetime.fromisoformat(body["expirationDateTime"]) == clock.now + LIFETIME
    assert push.renewed == 1


def test_reauthorization_required_renews_at_once(graph: RecordingGraph, push: GraphPush) -> None:
    """Graph's ``reauthorizationRequired``: the next `maintain` renews, whatever the expiry."""
    event = notification(
        push.subscription_id, secret_of(graph), lifecycleEvent="reauthorizationRequired"
    )
    assert push.lifecycle(event) == 1
    assert push.maintain() is False
    assert graph.sent[-1][0] == "PATCH"


def test_subscription_removed_makes_a_new_subscription_and_asks_for_a_delta_pass(
    graph: RecordingGraph, push: GraphPush
) -> None:
    """``subscriptionRemoved``: unhealthy until `maintain` subscribes again (True: read the
    delta now); the old subscription's notifications are still trusted, late as they come."""
    old, old_secret = push.subscription_id, secret_of(graph)
    event = notification(old, old_secret, lifecycleEvent="subscriptionRemoved")
    assert push.lifecycle(event) == 1
    assert push.healthy is False
    assert push.maintain() is True
    assert push.subscription_id not in (None, old)
    assert secret_of(graph, 1) != old_secret
    assert push.notified(notification(old, old_secret)) == 1


def test_a_renewal_of_a_subscription_graph_forgot_subscribes_again(
    graph: RecordingGraph, clock: Clock, push: GraphPush
) -> None:
    """PATCH answered 404 (the subscription expired or was dropped): a new one next time."""
    graph.gone.add(str(push.subscription_id))
    clock.now = START + LIFETIME - timedelta(hours=1)
    assert push.maintain() is False
    assert push.healthy is False
    assert push.maintain() is True
    assert [m for m, _, _ in graph.sent] == ["POST", "PATCH", "POST"]


@pytest.mark.parametrize(
    ("url", "allow_http", "expected"),
    [
        (
            "https://vmrsched.contoso.com/",
            False,
            "https://vmrsched.contoso.com/graph/notifications",
        ),
        ("http://127.0.0.1:8080", False, None),
        ("http://127.0.0.1:8080", True, "http://127.0.0.1:8080/graph/notifications"),
        ("", False, None),
    ],
)
def test_push_needs_an_https_public_url(
    url: str, *, allow_http: bool, expected: str | None
) -> None:
    """Graph only posts to HTTPS: without an HTTPS ``[web] public_url`` there is no push
    (http only where tests allow it)."""
    urls = push_urls(url, allow_http=allow_http)
    assert (urls[0] if urls else None) == expected
