"""Developer tool: add or update Chinese translations in the catalog from a TSV.

    python scripts/catalog.py add FILE.tsv     # lines: English msgid <TAB> Chinese
    python scripts/catalog.py missing          # msgids used in src/ without a translation
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

PO = Path(__file__).parents[1] / "src/tuopin/i18n/locale/zh_CN/LC_MESSAGES/messages.po"
# Functions whose argument (1-based) is a msgid: the gettext family, and the helpers that
# take a problem's reason so that reasons need no marker of their own.
KEYWORDS = {
    "_": None, "gettext": None, "translate": None, "N_": None, "file_error": (1,),
    "Problem": (4,), "_flag": (3,), "add": (3,), "add_at_row": (3,), "_report": (4,),
    "_duplicates": (3,),
}


def load() -> Catalog:
    with PO.open("rb") as handle:
        return read_po(handle, locale="zh_CN")


def save(catalog: Catalog) -> None:
    with PO.open("wb") as handle:
        write_po(handle, catalog, width=0, sort_output=True, omit_header=False)


def used_msgids() -> set[str]:
    src = Path(__file__).parents[1] / "src"
    found = extract_from_dir(str(src), method_map=[("**.py", "python")], keywords=KEYWORDS)
    return {msg[2] for msg in found if isinstance(msg[2], str)}


def main(argv: list[str]) -> int:
    if argv[:1] == ["add"]:
        catalog = load()
        for line in Path(argv[1]).read_text(encoding="utf-8").splitlines():
            if line.strip():
                english, chinese = line.split("\t")
                catalog.add(english, chinese)
        save(catalog)
        return 0
    if argv[:1] == ["missing"]:
        known = {m.id for m in load() if m.id and m.string}
        missing = sorted(used_msgids() - known)
        print("\n".join(missing))
        return 1 if missing else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
