"""Problems found in an input file: one per bad cell, in the user's language."""

from __future__ import annotations

from dataclasses import dataclass, field

from tuopin.i18n import normalize_lang, translate


@dataclass(frozen=True)
class Problem:
    """A bad value: where it is, what it is, and why it is refused.

    ``row`` is the file's own row number as a user sees it in Excel (the header is row 1);
    0 means the file as a whole. ``reason`` is an English msgid with ``{placeholders}``
    filled from ``params``, translated when the report is rendered.
    """

    row: int
    column: str
    value: str
    reason: str
    params: dict[str, object] = field(default_factory=dict, compare=False, hash=False)
    # the record the row belongs to when a row is not a whole record (a phone submission's
    # instance id: its members are rows of another sheet)
    record: str = ""

    def message(self, lang: str) -> str:
        """The reason in ``lang``; a param given as {"zh": ..., "en": ...} is picked by lang."""
        values = {
            key: value.get(normalize_lang(lang), value.get("en")) if isinstance(value, dict)
            else value
            for key, value in self.params.items()
        }
        return translate(self.reason, lang, **values)


REPORT_COLUMNS = ("row", "column", "value", "reason")
# a report of problems that belong to records (submissions) leads with the record
RECORD_COLUMNS = ("record", *REPORT_COLUMNS)


def has_records(problems: list[Problem]) -> bool:
    """True when the problems name their records (a report then shows that column)."""
    return any(p.record for p in problems)


def as_rows(problems: list[Problem], lang: str) -> list[dict[str, object]]:
    """Problems as report rows with the columns ``row, column, value, reason`` (and
    ``record`` first when the problems name their records)."""
    records = has_records(problems)
    return [
        {**({"record": p.record} if records else {}),
         "row": p.row, "column": p.column, "value": p.value, "reason": p.message(lang)}
        for p in sorted(problems, key=lambda p: (p.record, p.row, p.column))
    ]
