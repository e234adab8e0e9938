"""The one error tree: only the CLI and web/errors.py map it to exit codes or HTTP."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Self

from tuopin.i18n import normalize_lang, translate


class TuopinError(Exception):
    """Base of every error tuopin raises on purpose."""


class NotFound(TuopinError):
    """A record that was asked for does not exist (or is outside the caller's scope)."""


class PermissionDenied(TuopinError):
    """The caller may not do this."""


class ValidationFailed(TuopinError):
    """Input broke a rule; ``problems`` lists every one that was found."""

    def __init__(self, message: str, problems: list | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class KeepsRecord:
    """A refusal whose transaction is committed rather than rolled back: the service wrote
    nothing of the refused change, only the record of the attempt (a probe of the registry,
    counted and audited), which must outlive the refusal."""

    keep_transaction = True


class Conflict(TuopinError):
    """Someone else saved the record first (optimistic locking) or a unique key clashed."""


class StaleVersion(Conflict):
    """A save made on a version someone else has changed since: ``current`` holds what is
    stored now, field by field, so that a form can show what changed."""

    def __init__(self, message: str, current: dict[str, Any]) -> None:
        super().__init__(message)
        self.current = current


class TooManyAttempts(TuopinError):
    """Too many failed attempts (logins, probes) in a window; wait ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UnsupportedRule(TuopinError):
    """A standard's rule uses a node the compiler cannot translate."""


class ConfigurationError(TuopinError):
    """Settings or files tuopin needs are missing or malformed."""


class Message(str):
    """A catalog msgid with its values: it reads as its English text, and ``translated(lang)``
    gives it in either language, translating the values that are Messages too."""

    msgid: str
    values: dict[str, object]

    def __new__(cls, msgid: str, /, **values: object) -> Self:
        # values that are Messages are str already: formatted, they give their English text
        text = msgid.format(**values) if values else msgid
        obj = super().__new__(cls, text)
        obj.msgid, obj.values = msgid, values
        return obj

    def translated(self, lang: str | None) -> str:
        """The message in ``lang`` (zh or en), its Message values translated with it."""
        return translate(self.msgid, lang, **{k: _translated(v, lang)
                                              for k, v in self.values.items()})


class Bilingual(Message):
    """A name given in both languages by data (an indicator's title), not by the catalog."""

    zh: str

    def __new__(cls, en: str, zh: str) -> Self:
        obj = super().__new__(cls, "{en}", en=en)
        obj.zh = zh
        return obj

    def translated(self, lang: str | None) -> str:
        return str(self) if normalize_lang(lang) == "en" else self.zh


class Listing(Message):
    """Several values in a row: words (', ' and '、') or clauses ('; ' and '；')."""

    items: tuple[object, ...]
    zh_separator: str

    def __new__(cls, items: Iterable[object], *, clauses: bool = False) -> Self:
        found = tuple(items)
        separator = "; " if clauses else ", "
        obj = super().__new__(cls, "{items}", items=separator.join(map(str, found)))
        obj.items, obj.zh_separator = found, "；" if clauses else "、"
        return obj

    def translated(self, lang: str | None) -> str:
        if normalize_lang(lang) == "en":
            return str(self)
        return self.zh_separator.join(str(_translated(item, lang)) for item in self.items)


def _translated(value: object, lang: str | None) -> object:
    return value.translated(lang) if isinstance(value, Message) else value


class RuleBroken(ValidationFailed):
    """A rule refused a step; ``msgid`` and ``values`` translate it (i18n.translate), and
    ``translated(lang)`` also translates the values that are themselves messages."""

    def __init__(self, msgid: str, /, *, problems: list | None = None,
                 **values: object) -> None:
        self.message = Message(msgid, **values)
        super().__init__(str(self.message), problems)
        self.msgid = msgid
        self.values = values

    def translated(self, lang: str | None) -> str:
        """The refusal in ``lang`` (zh or en)."""
        return self.message.translated(lang)
