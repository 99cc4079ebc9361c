"""Graph front-end: who may call, and Graph's error shape for those who may not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from graph_harness import UNCONSENTED_APP, GraphClient, assert_shape_like, sample_body
from harness import (
    ALICE,
    DAVE,
    EWS_RESOURCE,
    LEGACY_APP,
    VMR,
    VMRSCHED_APP,
    make_sim,
    start_sim_server,
)

if TYPE_CHECKING:
    from pathlib import Path

    from harness import SimServer


async def test_a_request_without_a_token_gets_401_invalid_authentication_token(
    sim_server: SimServer,
) -> None:
    """No bearer token: 401, code InvalidAuthenticationToken, a Bearer challenge naming Graph."""
    async with GraphClient(sim_server, token="") as graph:
        reply = await graph.get(f"/users/{ALICE}/messages")
    assert reply.status == 401
    assert reply.error_code == "InvalidAuthenticationToken"
    assert reply.body["error"]["message"] == "Access token is empty."
    assert "00000003-0000-0000-c000-000000000000" in reply.headers["WWW-Authenticate"]


async def test_a_token_for_exchange_is_refused_by_graph_as_an_invalid_audience(
    sim_server: SimServer,
) -> None:
    """A token minted for EWS (aud outlook.office365.com) is not a Graph token: 401."""
    token = sim_server.app_token(VMRSCHED_APP, EWS_RESOURCE)
    async with GraphClient(sim_server, token=token) as graph:
        reply = await graph.get(f"/users/{ALICE}/messages")
    assert reply.status == 401
    assert reply.error_code == "InvalidAuthenticationToken"
    assert "audience" in reply.body["error"]["message"]


async def test_error_bodies_have_graphs_shape_with_request_ids(sim_server: SimServer) -> None:
    """An error carries code, message and innerError{date, request-id, client-request-id}; the
    client's client-request-id comes back in the body and the header."""
    async with GraphClient(sim_server) as graph:
        reply = await graph.call(
            "GET", f"/users/{DAVE}/messages", headers={"client-request-id": "abc-123"}
        )
    error = reply.body["error"]
    assert set(error) == {"code", "message", "innerError"}
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    assert error["innerError"]["client-request-id"] == "abc-123"
    assert reply.headers["client-request-id"] == "abc-123"
    assert reply.headers["request-id"] == error["innerError"]["request-id"]
    assert_shape_like(
        reply.body["error"],
        sample_body("error-403-ErrorAccessDenied-applicationAccessPolicy.json")["error"],
    )


async def test_an_app_scoped_by_rbac_is_denied_a_mailbox_outside_its_scope(
    sim_server: SimServer,
) -> None:
    """vmrsched's Graph roles are scoped to the scheduling group: Dave's mailbox is 403
    ErrorAccessDenied, the scheduling group's members are open."""
    async with GraphClient(sim_server) as graph:
        outside = await graph.get(f"/users/{DAVE}/messages")
        inside = await graph.get(f"/users/{VMR}/messages")
    assert outside.status == 403
    assert outside.error_code == "ErrorAccessDenied"
    assert outside.body["error"]["message"] == "Access to OData is disabled."
    assert inside.status == 200


async def test_an_app_without_any_graph_permission_is_denied(sim_server: SimServer) -> None:
    """An app granted nothing (no consent, no RBAC assignment) gets 403 ErrorAccessDenied."""
    async with GraphClient(sim_server, app=UNCONSENTED_APP) as graph:
        reply = await graph.get(f"/users/{ALICE}/events")
    assert reply.status == 403
    assert reply.error_code == "ErrorAccessDenied"


async def test_a_permission_consented_tenant_wide_opens_every_mailbox(
    sim_server: SimServer,
) -> None:
    """Legacy Room Sync holds Calendars.ReadWrite with admin consent: Dave's calendar opens, his
    mail does not (no Mail permission)."""
    async with GraphClient(sim_server, app=LEGACY_APP) as graph:
        events = await graph.get(f"/users/{DAVE}/events")
        mail = await graph.get(f"/users/{DAVE}/messages")
    assert events.status == 200
    assert mail.status == 403


async def test_an_unknown_user_is_404_error_invalid_user(sim_server: SimServer) -> None:
    """A user that does not exist: 404 ErrorInvalidUser."""
    async with GraphClient(sim_server) as graph:
        reply = await graph.get("/users/nobody@contoso.com/messages")
    assert reply.status == 404
    assert reply.error_code == "ErrorInvalidUser"


async def test_a_user_can_be_named_by_object_id(sim_server: SimServer) -> None:
    """/users/{object id} names the same mailbox as /users/{upn}."""
    resource = next(r for r in sim_server.sim.tenant.resources if r.email == VMR)
    async with GraphClient(sim_server) as graph:
        reply = await graph.get(f"/users/{resource.object_id}/messages")
    assert reply.status == 200
    assert reply.body["@odata.context"].endswith(f"users('{resource.object_id}')/messages")


async def test_me_is_refused_for_an_app_only_token(sim_server: SimServer) -> None:
    """/me needs a delegated token: an app token gets 400."""
    async with GraphClient(sim_server) as graph:
        reply = await graph.get("/me/messages")
    assert reply.status == 400
    assert "delegated" in reply.body["error"]["message"]


async def test_me_is_the_signed_in_users_mailbox(sim_server: SimServer) -> None:
    """A delegated Graph token with Calendars.Read reads its own calendar through /me."""
    token = sim_server.sim.issuer.mint_user_token(
        ALICE, VMRSCHED_APP, "https://graph.microsoft.com", ["Calendars.Read"]
    )
    async with GraphClient(sim_server, token=token) as graph:
        mine = await graph.get("/me/events")
        mail = await graph.get("/me/messages")
    assert mine.status == 200
    assert mail.status == 403


async def test_an_expired_token_is_401_with_graphs_lifetime_message(cert_dir: Path) -> None:
    """A token used more than its hour (and the five minutes of skew) later: 401
    InvalidAuthenticationToken, "Lifetime validation failed, the token is expired."."""
    now = [datetime.now(UTC)]
    server = start_sim_server(make_sim(clock=lambda: now[0]), cert_dir=cert_dir)
    try:
        token = server.app_token(VMRSCHED_APP, "https://graph.microsoft.com")
        now[0] += timedelta(hours=2)
        async with GraphClient(server, token=token) as graph:
            reply = await graph.get(f"/users/{ALICE}/events")
    finally:
        server.stop()
    assert reply.status == 401
    assert reply.body["error"]["message"] == "Lifetime validation failed, the token is expired."
