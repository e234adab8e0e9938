"""ExpressionError: a syntax or type error located in the standard file, with a caret line."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from tuopin.domain.errors import ValidationFailed
from tuopin.standards.expr.ast import Origin, Pos

INDENT = "    "


class ExpressionError(ValidationFailed):
    """An expression that does not parse or does not type-check.

    ``str(e)`` is ``source:line:column: message`` followed, when the text is known, by the
    offending line and a caret line under the span. ``message`` is the bare headline;
    ``expected`` lists what the parser would have accepted (empty for type errors).
    """

    def __init__(self, message: str, *, source: str = "<expr>", line: int = 1,
                 column: int = 1, end_column: int | None = None, snippet: str = "",
                 expected: Sequence[str] = ()) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.column = column
        self.end_column = column + 1 if end_column is None else end_column
        self.snippet = snippet
        self.expected = list(expected)
        text = f"{source}:{line}:{column}: {message}"
        super().__init__(f"{text}\n{snippet}" if snippet else text)

    @classmethod
    def at(cls, pos: Pos, message: str, *, expected: Sequence[str] = ()) -> ExpressionError:
        """An error at ``pos``, quoting the parsed text when the position carries it."""
        origin = pos.origin
        return cls(message, source=origin.source if origin else "<expr>", line=pos.line,
                   column=pos.column, end_column=pos.end_column,
                   snippet=_snippet(pos, origin) if origin else "", expected=expected)


def _snippet(pos: Pos, origin: Origin) -> str:
    """The line of ``pos`` and a caret line under its span (to the line's end if it wraps)."""
    lines = origin.text.split("\n")  # Lark counts lines by "\n" only
    index = pos.line - origin.line
    if not 0 <= index < len(lines):
        return ""
    text = lines[index].rstrip("\r")
    shift = origin.column - 1 if index == 0 else 0
    start = max(pos.column - shift - 1, 0)
    end = pos.end_column - shift - 1 if pos.last_line == pos.line else len(text)
    end = max(end, start + 1)
    shown = "".join(_printable(c) for c in text)
    # Keep tabs and double the width of CJK characters, so the caret lands under the span
    # in a terminal.
    lead = "".join("\t" if c == "\t" else " " * _width(c) for c in text[:start])
    marks = "".join("^" * _width(c) for c in text[start:end].ljust(end - start))
    return f"{INDENT}{shown}\n{INDENT}{lead}{marks}"


def _printable(char: str) -> str:
    return char if char == "\t" or char.isprintable() else "\N{REPLACEMENT CHARACTER}"


def _width(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
