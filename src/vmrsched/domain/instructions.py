"""Joining instructions: the block that goes into a meeting's body, alias token included.

The alias token is what ties the meeting to its reservation, so it is never left to the template:
if an admin's template does not place ``{{ alias_token }}`` itself, the token is added after the
block on a line of its own. The marker written with them (`write_marker`) lets the planner know
our own update when it comes back (`is_our_write`).
"""

import re
import string
from html import escape
from urllib.parse import quote

from vmrsched.domain.bodies import (
    INSTRUCTIONS_CLASS,
    PLACEHOLDER_CLASS,
    remove_blocks_saying,
    replace_block,
    replace_marked,
)
from vmrsched.domain.meetings import MeetingMessage
from vmrsched.domain.reservations import Reservation
from vmrsched.domain.templates import Rendered, TemplateName, TemplateSet
from vmrsched.domain.tokens import PLACEHOLDER_PREFIX, TERMINATOR, TokenKey, issue_token

JOIN_URL_FIELDS = frozenset({"alias", "numeric_alias"})
_PLACEHOLDER = re.compile(
    re.escape(PLACEHOLDER_PREFIX) + r"[A-Z0-9]{16,64}" + re.escape(TERMINATOR), re.IGNORECASE
)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def join_url_problem(join_url_format: str) -> str | None:
    """Why a join URL format is unusable, or None (it may use ``{alias}``, ``{numeric_alias}``)."""
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(join_url_format) if name}
    except ValueError as exc:
        return f"it is not a valid format string ({exc})"
    unknown = fields - JOIN_URL_FIELDS
    if unknown:
        return f"it uses {', '.join(sorted(unknown))}; only {{alias}} and {{numeric_alias}} exist"
    if not join_url_format.startswith(("https://", "http://")):
        return "it must start with https://"
    return None


def join_url(join_url_format: str, alias: str, numeric_alias: str) -> str:
    """The meeting link for an alias ('' when no format is configured); values are URL-quoted."""
    if not join_url_format:
        return ""
    return join_url_format.format(
        alias=quote(alias, safe="@"), numeric_alias=quote(numeric_alias, safe="")
    )


def render_instructions(
    templates: TemplateSet,
    reservation: Reservation,
    key: TokenKey,
    *,
    join_url_format: str,
    addin_server_domain: str,
) -> Rendered:
    """The joining instructions for a reservation, in HTML and plain text, each with its token.

    The HTML is one ``<div class="vmrsched-instructions">`` around the template's text.
    """
    token = issue_token(key, reservation.token_id, reservation.alias, reservation.created)
    rendered = templates.render(
        TemplateName.MEETING_INSTRUCTIONS,
        {
            "alias": reservation.alias,
            "numeric_alias": reservation.numeric_alias,
            "alias_uuid": reservation.token_id,
            "alias_token": token,
            "join_url": join_url(join_url_format, reservation.alias, reservation.numeric_alias),
            "addin_server_domain": addin_server_domain,
        },
    )
    html, text = rendered.html.strip(), rendered.text
    if token not in html:
        html += f'\n<p style="font-size:8pt;color:#808080">{token}</p>'
    if token not in text:
        text += f"\n\n{token}"
    # One marked block, so that writing the instructions again (self-healing) replaces what is
    # left of them instead of adding a second copy.
    return Rendered(html=f'<div class="{INSTRUCTIONS_CLASS}">\n{html}\n</div>', text=text)


def render_placeholder(templates: TemplateSet, *, addin_server_domain: str) -> Rendered:
    """The placeholder text the add-in inserts (it adds its placeholder token itself)."""
    return templates.render(
        TemplateName.PLACEHOLDER_INSTRUCTIONS, {"addin_server_domain": addin_server_domain}
    )


def placeholder_block(
    templates: TemplateSet, token: str, *, addin_server_domain: str = ""
) -> Rendered:
    """The placeholder text with its token, as the add-in inserts it into the body.

    The HTML is one ``<div class="vmrsched-placeholder">`` holding the text and the token, so that
    vmrsched later replaces the whole block (and nothing else) with the real instructions
    (`vmrsched.domain.bodies.replace_block`). ``token`` is a placeholder token, or the literal
    ``{{placeholder_token}}`` that the add-in fills in the browser.
    """
    rendered = render_placeholder(templates, addin_server_domain=addin_server_domain)
    shown = escape(token)
    html = (
        f'<div class="{PLACEHOLDER_CLASS}">\n{rendered.html.strip()}\n'
        f'<p style="margin:0;font-size:8pt;color:#808080">{shown}</p>\n</div>'
    )
    return Rendered(html=html, text=f"{rendered.text.rstrip()}\n\n{token}")


def at_body_end(html: str, addition: str) -> str:
    """``html`` with ``addition`` as the last thing inside its ``<body>`` (or at its end)."""
    ends = list(_BODY_END.finditer(html))
    if not ends:
        return f"{html.rstrip()}\n{addition}" if html.strip() else addition
    cut = ends[-1].start()
    return f"{html[:cut]}{addition}\n{html[cut:]}"


def insert_instructions(
    html: str,
    instructions_html: str,
    *,
    replace_placeholder: bool,
    placeholder_text: str = "",
) -> str:
    """The organizer's HTML body with the instructions in it, the rest kept as it was.

    The placeholder block (the add-in's text and token, when it could not reach us) is replaced
    by the instructions as a whole block (`replace_block`), so no block ends up inside the
    placeholder's paragraph; a token in no block of its own is replaced in place. When a client
    dropped the block's class, what remains of the placeholder text (``placeholder_text``, the
    template as rendered: paragraphs that say exactly one of its lines) is removed too.
    Otherwise what is left of earlier instructions (their marked block, when healing) is
    replaced, or the instructions go at the end of the body.
    """
    found = _PLACEHOLDER.search(html) if replace_placeholder else None
    if found is None:
        return replace_marked(html, INSTRUCTIONS_CLASS, instructions_html) or at_body_end(
            html, instructions_html
        )
    replaced = replace_block(html, found.group(0), instructions_html) or (
        html[: found.start()] + instructions_html + html[found.end() :]
    )
    lines = frozenset(line for line in placeholder_text.splitlines() if line.strip())
    return remove_blocks_saying(replaced, lines)


def write_marker(meeting_key: str, sequence: int) -> str:
    """The marker written with the instructions for the message of ``sequence``."""
    return f"vmrsched:{meeting_key}:{sequence}"


def is_our_write(message: MeetingMessage) -> bool:
    """Whether ``message`` is our own instructions update coming back to the resource mailbox.

    Our update as the organizer carries the sequence we wrote at, or the next one.
    """
    prefix = f"vmrsched:{message.meeting_key}:"
    if message.marker is None or not message.marker.startswith(prefix):
        return False
    written = message.marker.removeprefix(prefix)
    return written.isdigit() and int(written) >= message.sequence - 1
