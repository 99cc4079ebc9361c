"""Message bodies: HTML turned into readable plain text (pure, standard library only)."""

import re
from dataclasses import dataclass
from html.parser import HTMLParser

_BLOCK = frozenset(
    {
        "address", "article", "blockquote", "br", "dd", "div", "dl", "dt", "footer", "h1", "h2",
        "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre", "section", "table", "tr",
        "ul",
    }
)  # fmt: skip
_SKIPPED = frozenset({"head", "script", "style", "title", "template"})
_CELL = frozenset({"td", "th"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self._links: list[str | None] = []
        self._link_text: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        elif tag in _BLOCK:
            self.parts.append("\n")
        elif tag in _CELL:
            self.parts.append(" ")
        elif tag == "a":
            self._links.append(dict(attrs).get("href"))
            self._link_text.append([])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: ARG002
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")
        elif tag == "a" and self._links:
            href = self._links.pop()
            text = "".join(self._link_text.pop()).strip()
            if href and href.startswith(("http://", "https://")) and href != text:
                self.parts.append(f" <{href}>" if text else href)

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        self.parts.append(data)
        for collected in self._link_text:
            collected.append(data)


def html_to_text(source: str) -> str:
    """Readable plain text from HTML: blocks become lines, links keep their address."""
    collector = _TextCollector()
    collector.feed(source)
    collector.close()
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(collector.parts).split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


# --- the placeholder block -------------------------------------------------------------------

#: The class (or id) that marks the add-in's placeholder block. Copies may carry it with a prefix
#: (Outlook on the web shows ``x_vmrsched-placeholder``), so a match is "contains".
PLACEHOLDER_CLASS = "vmrsched-placeholder"
#: The class that marks the joining instructions vmrsched renders (add-in and written ones).
INSTRUCTIONS_CLASS = "vmrsched-instructions"
#: Elements that may be replaced as a whole when no marked block holds the token: blocks that can
#: be swapped for a ``<div>`` without breaking their parent's content model.
_REPLACEABLE = frozenset({"address", "article", "blockquote", "div", "p", "section"})
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


@dataclass
class _Element:
    tag: str
    marked: bool
    start: int  # offset of its start tag's "<"
    end: int = -1  # offset just after its end tag's ">"


class _Outline(HTMLParser):
    """Every element of a document, with the source offsets it spans."""

    def __init__(self, source: str, marker: str) -> None:
        super().__init__(convert_charrefs=True)
        self._source = source
        self._marker = marker
        self._line_starts = [0, *(m.end() for m in re.finditer("\n", source))]
        self._open: list[_Element] = []
        self.elements: list[_Element] = []

    def _offset(self) -> int:
        # While a tag's handler runs, getpos() is where that tag starts (one feed, whole text).
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            return
        marked = any(
            self._marker in (value or "").casefold()
            for name, value in attrs
            if name in ("class", "id")
        )
        self._open.append(_Element(tag, marked, self._offset()))

    def handle_endtag(self, tag: str) -> None:
        if not any(element.tag == tag for element in self._open):
            return  # a stray end tag closes nothing
        close = self._source.find(">", self._offset())
        end = len(self._source) if close < 0 else close + 1
        while self._open:  # an end tag closes what was left open inside it
            element = self._open.pop()
            element.end = end
            self.elements.append(element)
            if element.tag == tag:
                break

    def outline(self) -> list[_Element]:
        self.feed(self._source)
        self.close()
        for element in self._open:
            element.end = len(self._source)
        return [*self.elements, *self._open]


def replace_block(source: str, token: str, replacement: str) -> str | None:
    """``source`` (HTML) with the block holding ``token`` replaced by ``replacement``, or None.

    The block is the outermost element marked with `PLACEHOLDER_CLASS` that holds the token
    (the add-in's placeholder block: its text and the token go together); without one, the
    innermost paragraph or ``div`` that holds it. None when the token is not in the HTML as text
    (split by markup) or sits in no replaceable block; the caller then adds the instructions
    elsewhere. Everything outside the block is kept byte for byte.
    """
    found = re.search(re.escape(token), source, re.IGNORECASE)
    if found is None:
        return None
    at = found.start()
    outline = _Outline(source, PLACEHOLDER_CLASS).outline()
    holding = [e for e in outline if e.start < at and found.end() <= e.end]
    marked = [e for e in holding if e.marked]
    if marked:
        block = min(marked, key=lambda e: e.start)
    else:
        blocks = [e for e in holding if e.tag in _REPLACEABLE]
        if not blocks:
            return None
        block = max(blocks, key=lambda e: e.start)
    return source[: block.start] + replacement + source[block.end :]


def replace_marked(source: str, marker: str, replacement: str) -> str | None:
    """``source`` with its first outermost element marked ``marker`` (class or id) replaced by
    ``replacement``, or None when no element is marked."""
    marked = [e for e in _Outline(source, marker).outline() if e.marked]
    if not marked:
        return None
    first = min(marked, key=lambda e: (e.start, -e.end))
    return source[: first.start] + replacement + source[first.end :]


def _words(text: str) -> str:
    return " ".join(text.split()).casefold()


def remove_blocks_saying(source: str, texts: frozenset[str]) -> str:
    """``source`` without the paragraphs and ``div`` elements that say nothing but lines of
    ``texts`` (compared without case and spacing); nested matches go with their outermost one."""
    wanted = {_words(text) for text in texts if text.strip()}
    if not wanted:
        return source

    def says_only_those(element: _Element) -> bool:
        lines = [
            _words(line) for line in html_to_text(source[element.start : element.end]).splitlines()
        ]
        said = [line for line in lines if line]
        return bool(said) and all(line in wanted for line in said)

    matching = [
        element
        for element in _Outline(source, PLACEHOLDER_CLASS).outline()
        if element.tag in _REPLACEABLE and says_only_those(element)
    ]
    outermost = [
        e
        for e in matching
        if not any(o.start <= e.start and e.end <= o.end and o is not e for o in matching)
    ]
    for element in sorted(outermost, key=lambda e: e.start, reverse=True):
        source = source[: element.start] + source[element.end :]
    return source
