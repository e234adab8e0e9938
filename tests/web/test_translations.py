"""Every label of every template exists in Chinese (the Python side: tests/test_docs.py)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from tuopin.i18n import has_translation

TEMPLATES = Path(__file__).parents[2] / "src/tuopin/web/templates"


def template_msgids() -> set[str]:
    found = extract_from_dir(str(TEMPLATES), method_map=[("**.html", "jinja2")],
                             keywords={"_": None}, options_map={"**.html": {}})
    return {m[2] for m in found if isinstance(m[2], str)}


def test_the_templates_labels_are_found() -> None:
    assert {"Log in", "Search households", "Latest assessment"} <= template_msgids()


def test_every_template_label_has_a_chinese_translation() -> None:
    assert sorted(m for m in template_msgids() if not has_translation(m)) == []
