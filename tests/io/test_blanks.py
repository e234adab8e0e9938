"""Blank and padded cells: the byte check's shortcut gives what trimming every cell gives."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tuopin.io.blanks import _plain, blank_to_null, stripped

NULL = pa.scalar(None, pa.string())


def every_cell_blank_to_null(column: pa.ChunkedArray) -> list[str | None]:
    blank = pc.or_(pc.utf8_is_space(column), pc.equal(column, ""))
    return pc.if_else(blank, NULL, column).to_pylist()


def every_cell_stripped(column: pa.ChunkedArray) -> list[str | None]:
    text = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.equal(text, ""), NULL, text).to_pylist()


# ASCII codes and dates most of the time, now and then a space, a tab, an ideographic space
# (U+3000), a no-break space or Chinese text, and empty or null cells
cells = st.one_of(
    st.text(alphabet="0123456789X-:.", max_size=8),
    st.text(alphabet=st.sampled_from(["a", "7", " ", "\t", "\u3000", "\u00a0", "汉", "族"]),
            max_size=4),
    st.none(),
)


@given(st.lists(st.lists(cells, max_size=12), min_size=1, max_size=3), st.integers(0, 3))
def test_the_shortcut_agrees_with_trimming_every_cell(chunks: list[list[str | None]],
                                                      skip: int) -> None:
    column = pa.chunked_array([pa.array(chunk, pa.string()) for chunk in chunks], pa.string())
    column = column.slice(min(skip, len(column)))  # a slice's buffer holds bytes outside it
    assert blank_to_null(column).to_pylist() == every_cell_blank_to_null(column)
    assert stripped(column).to_pylist() == every_cell_stripped(column)


@pytest.mark.parametrize(("values", "plain"), [
    (["620121195908280029", "2021-03-04", "", None], True),
    (["汉族"], False),
    ([" 12"], False),
    (["12\t"], False),
    (["\u3000"], False),
    (["a b"], False),  # a space inside: the cell-by-cell path, though nothing is trimmed
    ([], True),
])
def test_only_printable_ascii_without_spaces_takes_the_shortcut(values: list[str | None],
                                                                plain: bool) -> None:
    assert _plain(pa.array(values, pa.string())) is plain
    assert _plain(pa.array(values, pa.large_string())) is plain
