"""What the shipped standards are, read from their TOML headers alone: for `tuopin standards
list`, which must start at once (the loader parses every expression with lark, ~0.3 s).

A listing checks nothing; tests/standards loads every shipped file through the loader.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any


def shipped() -> list[str]:
    """Names of the standards that ship with tuopin."""
    folder = resources.files("tuopin.standards") / "data"
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir()
                  if p.name.endswith(".toml"))


def describe(name: str) -> dict[str, Any]:
    """A shipped standard's name, version, years, number of indicators, rule and titles."""
    resource = resources.files("tuopin.standards") / "data" / f"{name}.toml"
    data = tomllib.loads(resource.read_text(encoding="utf-8"))
    head = data["standard"]
    first, last = head["years"]
    return {"name": head["name"], "version": str(head["version"]), "years": f"{first}-{last}",
            "indicators": len(data.get("indicators", [])),
            "rule": data["poverty"]["rule"], "title": head["title"]["zh"],
            "title_en": head["title"]["en"]}
