"""Effects: what a decision still has to do outside the store, as the store records it.

Booking changes (book, move, rebook, release) are not effects: they are written by
``Store.record_decision`` in the same transaction as the decision, so a recorded acceptance can
never point at a booking that is missing. What is left to do after that transaction is talking to
Exchange, recorded as effects of two kinds:

- ``reply``: accept or decline the meeting request, with the rendered template;
- ``write_instructions``: write the joining instructions into the organizer's meeting (issue 4).

Texts are rendered when the decision is recorded, so the effect sends exactly what was decided
even if the templates change before it runs. Each payload is plain JSON; ``reply_from`` and
``update_from`` turn it back into the mailbox port's values.
"""

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from vmrsched.domain.actions import Accept, Decline, WriteInstructions
from vmrsched.domain.instructions import render_instructions, render_placeholder
from vmrsched.domain.reservations import Reservation
from vmrsched.domain.templates import TEMPLATE_VARIABLES, TemplateName, TemplateSet
from vmrsched.ports.mailbox import InstructionsUpdate, Reply, ReplyKind
from vmrsched.ports.store import Effect, NewEffect
from vmrsched.service.rules import Rules


class EffectKind(StrEnum):
    """The kinds of effect the service records."""

    REPLY = "reply"
    WRITE_INSTRUCTIONS = "write_instructions"


def reply_effect(
    message_key: str, message_id: str, action: Accept | Decline, rules: Rules
) -> NewEffect:
    """The effect that answers the message ``message_id`` as ``action`` says."""
    values = dict(action.variables)
    rendered = rules.templates.render(action.template, values)
    kind = ReplyKind.ACCEPT if isinstance(action, Accept) else ReplyKind.DECLINE
    return NewEffect(
        idempotency_key=f"reply:{message_key}",
        kind=EffectKind.REPLY.value,
        payload={
            "message_id": message_id,
            "reply": kind.value,
            "template": action.template.value,
            "variables": values,
            "body_html": rendered.html,
            "body_text": rendered.text,
        },
    )


def general_error_reply(
    message_key: str, message_id: str, variables: Mapping[str, str], templates: TemplateSet
) -> NewEffect:
    """A decline with the general-error template, for a failure met while acting."""
    name = TemplateName.REJECT_GENERAL_ERROR
    kept = {key: value for key, value in variables.items() if key in TEMPLATE_VARIABLES[name]}
    rendered = templates.render(name, kept)
    return NewEffect(
        idempotency_key=f"reply:{message_key}",
        kind=EffectKind.REPLY.value,
        payload={
            "message_id": message_id,
            "reply": ReplyKind.DECLINE.value,
            "template": name.value,
            "variables": kept,
            "body_html": rendered.html,
            "body_text": rendered.text,
        },
    )


def instructions_effect(
    message_key: str, action: WriteInstructions, reservation: Reservation, rules: Rules
) -> NewEffect:
    """The effect that writes ``reservation``'s instructions into the organizer's meeting."""
    policy = rules.policy
    rendered = render_instructions(
        rules.templates,
        reservation,
        rules.key,
        join_url_format=policy.join_url_format,
        addin_server_domain=policy.addin_server_domain,
    )
    start = action.occurrence_original_start
    placeholder_text = ""
    if action.replace_placeholder is not None:
        # What a client that dropped the placeholder block's class leaves standing.
        placeholder_text = render_placeholder(
            rules.templates, addin_server_domain=policy.addin_server_domain
        ).text
    return NewEffect(
        idempotency_key=f"write:{message_key}",
        kind=EffectKind.WRITE_INSTRUCTIONS.value,
        payload={
            "organizer_email": action.organizer_email,
            "uid": action.uid,
            "alias": action.alias,
            "body_html": rendered.html,
            "marker": action.marker,
            "occurrence_original_start": None if start is None else start.isoformat(),
            "replace_placeholder": action.replace_placeholder is not None,
            "placeholder_text": placeholder_text,
        },
    )


def reply_from(effect: Effect) -> Reply:
    """The mailbox reply a ``reply`` effect sends; it may have been sent already only if an
    attempt was begun before (``Effect.attempt_started``)."""
    payload = effect.payload
    return Reply(
        message_id=str(payload["message_id"]),
        kind=ReplyKind(payload["reply"]),
        body_html=str(payload["body_html"]),
        idempotency_key=effect.idempotency_key,
        maybe_sent=effect.attempt_started is not None,
    )


def update_from(effect: Effect) -> InstructionsUpdate:
    """The instructions update a ``write_instructions`` effect performs."""
    payload = effect.payload
    start = payload.get("occurrence_original_start")
    return InstructionsUpdate(
        organizer_email=str(payload["organizer_email"]),
        uid=str(payload["uid"]),
        body_html=str(payload["body_html"]),
        marker=str(payload["marker"]),
        idempotency_key=effect.idempotency_key,
        occurrence_original_start=None if start is None else str(start),
        replace_placeholder=bool(payload.get("replace_placeholder", True)),
        placeholder_text=str(payload.get("placeholder_text", "")),
    )


def summarize(kind: str, payload: Mapping[str, Any]) -> str:
    """A short human text for an effect's payload (no body)."""
    if kind == EffectKind.REPLY:
        return f"{payload.get('reply', '?')} with {payload.get('template', '?')}"
    if kind == EffectKind.WRITE_INSTRUCTIONS:
        alias, organizer = payload.get("alias", "?"), payload.get("organizer_email", "?")
        return f"write instructions for {alias} as {organizer}"
    return kind
