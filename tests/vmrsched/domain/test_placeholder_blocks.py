"""The placeholder block: what the add-in inserts, and how the instructions replace it whole."""

import pytest
from domain_builders import KEY, Builders

from vmrsched.config import compile_templates
from vmrsched.domain.bodies import html_to_text, replace_block, replace_marked
from vmrsched.domain.instructions import (
    insert_instructions,
    placeholder_block,
    render_instructions,
)
from vmrsched.domain.tokens import TokenKind, placeholder_token, read_token

TOKEN = placeholder_token("ABCDEFGH12345678ABCD")
NEW = '<div class="vmrsched-instructions"><p>Join</p></div>'


def test_the_placeholder_block_holds_its_text_and_token_in_one_marked_div() -> None:
    """The add-in's block is one marked div: its text, then the token, readable as text too."""
    block = placeholder_block(compile_templates({}), TOKEN)
    assert block.html.startswith('<div class="vmrsched-placeholder">')
    assert block.html.endswith("</div>")
    assert read_token("", block.html).kind is TokenKind.PLACEHOLDER
    assert read_token(block.text).placeholder_id == "ABCDEFGH12345678ABCD"
    assert "Video meeting details will follow" in html_to_text(block.html)


def test_the_marked_block_is_replaced_whole_and_the_rest_kept_byte_for_byte() -> None:
    """Everything outside the marked block stays exactly as the organizer wrote it."""
    before = (
        '<html><head><style>p{margin:0}</style></head><body><p class="x">Agenda &amp; notes</p>\n'
    )
    block = placeholder_block(compile_templates({}), TOKEN).html
    after = "\n<p>Bye,<br>Alice</p></body></html>"
    assert replace_block(before + block + after, TOKEN, NEW) == before + NEW + after


def test_a_prefixed_marker_class_from_outlook_on_the_web_still_marks_the_block() -> None:
    """``x_vmrsched-placeholder`` (how Outlook on the web shows classes) marks it too."""
    html = f'<div class="x_vmrsched-placeholder"><p>Soon</p><p><span>{TOKEN}</span></p></div><p>End</p>'
    assert replace_block(html, TOKEN, NEW) == f"{NEW}<p>End</p>"


def test_without_a_marked_block_the_tokens_own_paragraph_is_replaced() -> None:
    """A client that dropped the class: the innermost paragraph holding the token goes."""
    html = f"<div><p>Intro</p><p>ref: <b>{TOKEN.lower()}</b></p><p>End</p></div>"
    assert replace_block(html, TOKEN, NEW) == f"<div><p>Intro</p>{NEW}<p>End</p></div>"


@pytest.mark.parametrize(
    "html",
    [
        f"Plain {TOKEN} words",  # in no block at all
        f"<table><tr><td>{TOKEN}</td></tr></table>",  # only in a cell: not ours to replace
        "<p>VMRP:-ABCDEFGH<b>12345678ABCD</b>#</p>",  # split by markup
    ],
)
def test_a_token_in_no_replaceable_block_is_left_to_the_caller(html: str) -> None:
    """None: the caller decides (replace the token in place, or add the instructions)."""
    assert replace_block(html, TOKEN, NEW) is None


def test_unclosed_paragraphs_do_not_stretch_the_block() -> None:
    """HTML with paragraphs left open (legal HTML) still gives a well-placed replacement."""
    html = f"<body><p>One<p>{TOKEN}</p><p>Three</body>"
    assert replace_block(html, TOKEN, NEW) == f"<body><p>One{NEW}<p>Three</body>"


def test_rendered_instructions_are_one_marked_block(build: Builders) -> None:
    """The instructions come as one ``vmrsched-instructions`` div with the token inside it."""
    rendered = render_instructions(
        compile_templates({}), build.reservation(), KEY, join_url_format="", addin_server_domain=""
    )
    assert rendered.html.startswith('<div class="vmrsched-instructions">')
    assert rendered.html.endswith("</div>")
    assert replace_marked(rendered.html, "vmrsched-instructions", NEW) == NEW


def test_what_is_left_of_earlier_instructions_is_replaced_not_doubled() -> None:
    """Healing: the marked instructions block (its token edited away) is replaced in place."""
    html = '<p>Hi</p><div class="vmrsched-instructions"><p>Join: old</p></div><p>Bye</p>'
    assert replace_marked(html, "vmrsched-instructions", NEW) == f"<p>Hi</p>{NEW}<p>Bye</p>"
    assert replace_marked("<p>Hi</p>", "vmrsched-instructions", NEW) is None


def test_a_placeholder_that_lost_its_class_goes_with_its_text() -> None:
    """A client dropped the block's class: the token's paragraph is replaced and the paragraphs
    that say a line of the placeholder text go too; the organizer's own paragraphs stay."""
    rendered = placeholder_block(compile_templates({}), TOKEN)
    heading, sentence = [line for line in rendered.text.splitlines() if line.strip()][:2]
    html = (
        f"<p>Agenda</p><div><p><b>{heading}</b></p>\n<p>{sentence}</p></div>"
        f"<p>{TOKEN}</p><p>{heading} is what Bob said</p>"
    )
    written = insert_instructions(
        html, NEW, replace_placeholder=True, placeholder_text=rendered.text
    )
    assert written == f"<p>Agenda</p>{NEW}<p>{heading} is what Bob said</p>"
