"""The measure catalogue (data/measures.toml): which measures answer which failings."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from tuopin.domain.enums import MeasureKind, PovertyCause


@dataclass(frozen=True)
class CatalogueEntry:
    kind: MeasureKind
    title_zh: str
    title_en: str
    content_zh: str
    content_en: str
    indicators: tuple[str, ...]
    causes: tuple[PovertyCause, ...]
    days: int
    budget: float
    funding: str

    def title(self, lang: str) -> str:
        return self.title_en if lang.startswith("en") else self.title_zh

    def content(self, lang: str) -> str:
        return self.content_en if lang.startswith("en") else self.content_zh


@lru_cache(maxsize=1)
def catalogue() -> tuple[CatalogueEntry, ...]:
    """Every measure kind with its defaults, in the catalogue's order of preference."""
    text = (resources.files("tuopin.domain") / "data" / "measures.toml").read_text("utf-8")
    entries = []
    for row in tomllib.loads(text)["measure"]:
        entries.append(CatalogueEntry(
            kind=MeasureKind.of(row["kind"]), title_zh=row["title"]["zh"],
            title_en=row["title"]["en"], content_zh=row["content"]["zh"],
            content_en=row["content"]["en"], indicators=tuple(row["indicators"]),
            causes=tuple(PovertyCause.of(c) for c in row["causes"]), days=int(row["days"]),
            budget=float(row["budget"]), funding=row["funding"],
        ))
    return tuple(entries)


def entry(kind: MeasureKind) -> CatalogueEntry:
    return next(e for e in catalogue() if e.kind is kind)


def for_indicator(indicator: str) -> CatalogueEntry | None:
    """The first catalogue measure that answers a failed indicator."""
    return next((e for e in catalogue() if indicator in e.indicators), None)


def for_cause(cause: PovertyCause) -> CatalogueEntry | None:
    """The first catalogue measure that answers a cause of poverty."""
    return next((e for e in catalogue() if cause in e.causes), None)
