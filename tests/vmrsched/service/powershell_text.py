"""Reading generated PowerShell the way PowerShell's tokenizer does, for the setup tests.

Only what the tests need: single-quoted literals (a quote character followed by another quote
character stands for the second one; U+2018..U+201B count as quotes), double-quoted literals
(a backtick escapes the next character), ``#`` comments and ``<# #>`` blocks, and the brackets
between them. See about_Quoting_Rules and PowerShell's tokenizer (``ScanStringLiteral``).
"""

from __future__ import annotations

QUOTES = frozenset("'\u2018\u2019\u201a\u201b")
DOUBLE_QUOTES = frozenset('"\u201c\u201d\u201e')
_PAIRS = {")": "(", "}": "{", "]": "["}


def read_single_quoted(text: str, start: int) -> tuple[str, int]:
    """The value of the single-quoted literal opening at ``start``, and the index after it."""
    assert text[start] in QUOTES, f"no single quote at {start}: {text[start : start + 20]!r}"
    value: list[str] = []
    index = start + 1
    while index < len(text):
        char = text[index]
        if char in QUOTES:
            if index + 1 < len(text) and text[index + 1] in QUOTES:
                value.append(text[index + 1])
                index += 2
                continue
            return "".join(value), index + 1
        value.append(char)
        index += 1
    raise AssertionError(f"unterminated single-quoted string from {start}")


def code_only(text: str) -> str:
    """``text`` with every string literal emptied and every comment removed."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char in QUOTES:
            _, index = read_single_quoted(text, index)
            out.append("''")
        elif char in DOUBLE_QUOTES:
            index += 1
            while text[index] not in DOUBLE_QUOTES:
                index += 2 if text[index] == "`" else 1
            index += 1
            out.append('""')
        elif text.startswith("<#", index):
            index = text.index("#>", index) + 2
        elif char == "#":
            index = text.find("\n", index)
            index = len(text) if index < 0 else index
        else:
            out.append(char)
            index += 1
    return "".join(out)


def unbalanced(text: str) -> str:
    """'' when every bracket of the code closes in order, else where it does not."""
    stack: list[tuple[str, int]] = []
    for index, char in enumerate(code_only(text)):
        if char in "({[":
            stack.append((char, index))
        elif char in _PAIRS:
            if not stack or stack[-1][0] != _PAIRS[char]:
                return f"unexpected {char!r} at {index}"
            stack.pop()
    return f"unclosed {stack[-1][0]!r} at {stack[-1][1]}" if stack else ""


def assignments(script: str) -> dict[str, str]:
    """``$Name = '<literal>'`` lines of the values block, decoded: name -> value."""
    values: dict[str, str] = {}
    block = script.split("# Your values", 1)[1].split("\n# ---", 1)[0]
    for line in block.splitlines():
        if not line.startswith("$") or "=" not in line:
            continue
        name, _, rest = line[1:].partition("=")
        rest = rest.lstrip()
        if rest[:1] in QUOTES:
            value, end = read_single_quoted(rest, 0)
            tail = rest[end:]
            assert not tail.strip() or tail.lstrip().startswith("#"), f"code after {name}: {tail!r}"
            values[name.strip()] = value
    return values
