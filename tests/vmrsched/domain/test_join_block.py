"""The default join block: HTML every Outlook renders, plain text people can read, the link alone.

Outlook for Windows renders HTML with Word (no ``<style>``, no classes, inline styles only),
Outlook for Mac, Outlook on the web and new Outlook render it as a browser would, and plain-text
clients (and Outlook's "plain text" setting) see the text variant or a conversion of the HTML.
The checks below are the rules the default template is written to.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import TYPE_CHECKING

import pytest
from domain_builders import KEY, Builders
from lxml import etree

from vmrsched.config import compile_templates
from vmrsched.domain.bodies import html_to_text
from vmrsched.domain.instructions import render_instructions
from vmrsched.domain.tokens import TokenKind, read_token

if TYPE_CHECKING:
    from vmrsched.domain.templates import Rendered

LINK_FORMAT = "https://meet.contoso.com/webapp/m/{alias}?role=guest&lang=en"
#: Markup every Outlook renders the same way.
ALLOWED_TAGS = {"div", "p", "a", "b", "br", "span"}


def render(join_url_format: str = LINK_FORMAT) -> Rendered:
    return render_instructions(
        compile_templates({}),
        Builders().reservation(),
        KEY,
        join_url_format=join_url_format,
        addin_server_domain="vmrsched.contoso.com",
    )


def link() -> str:
    return "https://meet.contoso.com/webapp/m/81000001@vmr.contoso.com?role=guest&lang=en"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser.tags


def test_the_html_is_well_formed_and_uses_only_inline_styles() -> None:
    """It parses as XML (every tag closed), and uses no <style>, script, table or image."""
    html = render().html
    root = etree.fromstring(html.encode("utf-8"))  # raises on unbalanced or broken markup
    assert root.tag == "div"
    for tag, attributes in tags(html):
        assert tag in ALLOWED_TAGS, tag
        if tag != "div":  # the outer marker div is how vmrsched finds the block again
            assert "class" not in attributes
            assert "id" not in attributes


def test_the_link_stands_alone_in_its_own_paragraph() -> None:
    """The HTML link's paragraph holds only the link, whose text is the address itself."""
    root = etree.fromstring(render().html.encode("utf-8"))
    anchors = root.findall(".//a")
    assert len(anchors) == 1
    anchor = anchors[0]
    assert anchor.get("href") == link()
    assert anchor.text == link()
    paragraph = anchor.getparent()
    assert paragraph is not None
    assert paragraph.tag == "p"
    assert "".join(paragraph.itertext()).strip() == link()
    assert (paragraph.text or "").strip() == ""
    assert (anchor.tail or "").strip() == ""


@pytest.mark.parametrize("variant", ["text", "converted html"])
def test_the_plain_text_has_the_link_alone_on_its_line(variant: str) -> None:
    """In the text variant, and in the HTML as a plain-text client converts it, the link is a
    line of its own, with the ``&`` of the address as is (not ``&amp;``)."""
    rendered = render()
    text = rendered.text if variant == "text" else html_to_text(rendered.html)
    lines = [line.strip() for line in text.splitlines()]
    assert link() in lines
    assert "&amp;" not in text


def test_the_text_is_readable_without_markup() -> None:
    """No tags or entities, short lines, and every fact a participant needs."""
    text = render().text
    assert not re.search(r"<[a-zA-Z/][^>]*>", text)
    assert not re.search(r"&[a-z]+;|&#\d+;", text)
    assert all(len(line) <= 100 for line in text.splitlines() if link() not in line)
    for needed in ("Join the video meeting", "81000001@vmr.contoso.com", "81000001"):
        assert needed in text
    assert read_token(text).kind is TokenKind.SIGNED


def test_both_variants_carry_the_alias_token() -> None:
    """The signed token is in the HTML and in the text, readable in each."""
    rendered = render()
    assert read_token("", rendered.html).kind is TokenKind.SIGNED
    assert read_token(rendered.text).kind is TokenKind.SIGNED


def test_without_a_join_url_there_is_no_empty_link_line() -> None:
    """With no ``[video] join_url`` the block gives the alias and numeric alias only."""
    rendered = render("")
    assert "<a " not in rendered.html
    assert "http" not in rendered.text
    assert "\n\n\n" not in rendered.text
    etree.fromstring(rendered.html.encode("utf-8"))
