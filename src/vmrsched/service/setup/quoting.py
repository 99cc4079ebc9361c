"""PowerShell literals that no value can break out of.

Every value the admin gives (mailbox, names, group) enters the generated script exactly once, as
a *single-quoted* string literal: PowerShell expands nothing inside single quotes (no ``$``, no
backtick escapes, no subexpressions), and the only character that ends the literal is a single
quote, which is written twice to stand for itself. PowerShell counts the typographic quotes
U+2018, U+2019, U+201A and U+201B as single quotes too, so they are doubled as well, as
``CodeGeneration.EscapeSingleQuotedStringContent`` in PowerShell itself does.
— https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_quoting_rules

Control characters (a newline would end a ``#`` comment or a statement), format characters
(bidirectional overrides that make the text read differently from how it runs) and line or
paragraph separators are refused rather than escaped: no name an admin means to give has them.
"""

from __future__ import annotations

import unicodedata
from typing import Final

#: The characters PowerShell's tokenizer treats as a single quote.
SINGLE_QUOTES: Final = frozenset("'\u2018\u2019\u201a\u201b")

_REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


class UnsafeValueError(ValueError):
    """A value holds a character that has no place in a name or an address."""


def refuse_unsafe(what: str, value: str) -> str:
    """``value`` unchanged, or UnsafeValueError naming ``what`` and the character's code point."""
    for char in value:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            raise UnsafeValueError(
                f"{what} contains the control or invisible character U+{ord(char):04X}; "
                "remove it (names and addresses never need one)"
            )
    return value


def ps_string(value: str) -> str:
    """``value`` as a PowerShell single-quoted string literal (after `refuse_unsafe`)."""
    refuse_unsafe("a value", value)
    body = "".join(char * 2 if char in SINGLE_QUOTES else char for char in value)
    return f"'{body}'"
