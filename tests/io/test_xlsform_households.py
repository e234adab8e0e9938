"""The households file in both layouts: what a form's select_one_from_file reads, and what
ODK Central's Entity List upload takes."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tuopin.io.xlsform_households import (
    HouseholdChoice,
    Layout,
    columns,
    households_csv,
    write_households,
)

ROWS = [HouseholdChoice("6211210010010001", "621121001001", "东关村", "张三", "一组12号"),
        HouseholdChoice("6211210010010002", "621121001001", "东关村", None, "二组,\r\n3号")]


def read(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_the_media_file_has_a_name_and_a_label_per_household() -> None:
    rows = read(households_csv(ROWS, Layout.MEDIA))
    assert rows[0] == {"name": "6211210010010001", "label": "6211210010010001 张三 一组12号",
                       "number": "6211210010010001", "village": "621121001001",
                       "village_name": "东关村", "head": "张三", "address": "一组12号"}
    assert rows[1]["label"] == "6211210010010002 二组, 3号" and rows[1]["head"] == ""


def test_the_entity_list_has_a_label_and_properties_only() -> None:
    header = columns(Layout.ENTITIES)
    assert header[0] == "label"
    assert not [name for name in header[1:] if name in ("name", "label")
                or name.startswith("__")]
    assert read(households_csv(ROWS, Layout.ENTITIES))[0]["number"] == "6211210010010001"


@pytest.mark.parametrize("layout", list(Layout))
def test_the_file_is_utf8_without_a_byte_order_mark_one_line_a_household(
        layout: Layout, tmp_path: Path) -> None:
    data = write_households(ROWS, tmp_path / "households.csv", layout).read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8").count("\n") == 1 + len(ROWS)
