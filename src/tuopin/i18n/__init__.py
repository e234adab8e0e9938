"""Translation catalog: English msgids in code, Chinese (the default) from a Babel .po file.

The .po file is read with Babel at first use rather than compiled to .mo, so a source checkout
and an installed wheel behave the same and there is no build step to forget.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

DEFAULT_LANG = "zh"
LANGS = ("zh", "en")


def normalize_lang(lang: str | None) -> str:
    """Map zh-CN, zh_CN, en-US ... onto the two catalogs tuopin has."""
    if not lang:
        return DEFAULT_LANG
    short = lang.replace("_", "-").split("-")[0].lower()
    return short if short in LANGS else DEFAULT_LANG


@lru_cache(maxsize=1)
def _zh_catalog() -> dict[str, str]:
    from babel.messages.pofile import read_po  # at first use: every command imports i18n

    path = resources.files("tuopin.i18n").joinpath("locale/zh_CN/LC_MESSAGES/messages.po")
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="zh_CN")
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}


def gettext(message: str, lang: str | None = DEFAULT_LANG) -> str:
    """Translate an English msgid; unknown msgids fall back to English."""
    if normalize_lang(lang) == "en":
        return message
    return _zh_catalog().get(message, message)


def translate(message: str, lang: str | None = DEFAULT_LANG, **values: object) -> str:
    """Translate and fill ``{name}`` placeholders."""
    text = gettext(message, lang)
    return text.format(**values) if values else text


def has_translation(message: str) -> bool:
    """True when the Chinese catalog knows this msgid (used by tests of completeness)."""
    return message in _zh_catalog()


def N_(message: str) -> str:
    """Mark a msgid for the catalog where it is defined, translate it where it is shown."""
    return message


_ = gettext
