"""`tuopin standards list` reads the shipped files' headers only: what it says must be what
the loader finds in the same files."""

from __future__ import annotations

import pytest

from tuopin.standards import catalog
from tuopin.standards.loader import load, shipped


def test_the_catalog_lists_the_shipped_standards() -> None:
    assert catalog.shipped() == shipped() and "cn-national" in shipped()


@pytest.mark.parametrize("name", shipped())
def test_the_header_agrees_with_the_loaded_standard(name: str) -> None:
    found, std = catalog.describe(name), load(name)
    assert found == {"name": std.name, "version": std.version,
                     "years": f"{std.years[0]}-{std.years[1]}",
                     "indicators": len(std.indicators), "rule": std.poverty.rule.value,
                     "title": std.title.zh, "title_en": std.title.en}
