"""Every command, setting, import field and message is documented and translated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer.main
from babel.messages.extract import extract_from_dir

from tuopin.cli.main import app
from tuopin.config import settings_help
from tuopin.i18n import has_translation
from tuopin.io.schema import FIELDS

ROOT = Path(__file__).parents[1]
# README, and the Chinese and English user guides (every page of each language together).
DOCS = {
    "README.md": (ROOT / "README.md").read_text(encoding="utf-8"),
    **{f"docs/{lang}": "\n".join(p.read_text(encoding="utf-8")
                                 for p in sorted((ROOT / "docs" / lang).glob("*.md")))
       for lang in ("zh", "en")},
}


def command_paths() -> list[str]:
    paths: list[str] = []

    def walk(command: Any, prefix: str) -> None:
        # Typer bundles its own click, so test for a group by shape, not by class
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, f"{prefix} {name}")
        else:
            paths.append(prefix)

    walk(typer.main.get_command(app), "tuopin")
    assert len(paths) > 20, paths
    return paths


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("command", command_paths())
def test_every_command_is_documented(doc: str, command: str) -> None:
    assert f"`{command}" in DOCS[doc]


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("variable", settings_help())
def test_every_setting_is_documented(doc: str, variable: str) -> None:
    assert f"`{variable}`" in DOCS[doc]


@pytest.mark.parametrize("doc", ["docs/zh", "docs/en"])
def test_every_import_field_is_documented(doc: str) -> None:
    missing = [f"{kind.value}.{f.name}" for kind, fields in FIELDS.items() for f in fields
               if f"`{f.name}`" not in DOCS[doc]]
    assert missing == []


KEYWORDS = {
    "_": None, "gettext": None, "translate": None, "N_": None, "file_error": (1,),
    "Problem": (4,), "_flag": (3,), "add": (3,), "add_at_row": (3,), "_report": (4,),
    "_duplicates": (3,),
}


def test_every_message_has_a_chinese_translation() -> None:
    found = extract_from_dir(str(ROOT / "src"), method_map=[("**.py", "python")],
                             keywords=KEYWORDS)
    msgids = {m[2] for m in found if isinstance(m[2], str)}
    assert msgids, "the extractor found no messages"
    assert sorted(m for m in msgids if not has_translation(m)) == []


def test_every_enum_title_has_a_chinese_translation() -> None:
    from tuopin.domain import enums

    titled = [e for e in vars(enums).values()
              if isinstance(e, type) and issubclass(e, enums.Titled) and e is not enums.Titled]
    missing = [f"{e.__name__}.{m.name}: {m.title}" for e in titled for m in e
               if not has_translation(m.title)]
    assert titled and missing == []
