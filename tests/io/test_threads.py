"""Column-wise work on several threads gives what one thread gives, errors included."""

from __future__ import annotations

import threading

import pytest

from tuopin.io import threads


@pytest.mark.parametrize("rows", [10, threads.PARALLEL_ROWS])
def test_results_keep_the_order_of_the_columns(rows: int) -> None:
    assert threads.map_columns(lambda x: x * x, range(20), rows=rows) == [x * x for x in range(20)]


@pytest.mark.skipif(threads._cores() < 2, reason="one processor: everything on one thread")
def test_long_columns_are_worked_on_other_threads() -> None:
    seen = threads.map_columns(lambda _: threading.current_thread().name, range(4),
                               rows=threads.PARALLEL_ROWS)
    assert all(name.startswith("tuopin-columns") for name in seen)
    short = threads.map_columns(lambda _: threading.current_thread().name, range(4), rows=1)
    assert set(short) == {threading.current_thread().name}


@pytest.mark.parametrize("rows", [10, threads.PARALLEL_ROWS])
def test_an_error_in_a_column_is_raised_to_the_caller(rows: int) -> None:
    def work(x: int) -> int:
        if x == 3:
            raise ValueError("column 3")
        return x

    with pytest.raises(ValueError, match="column 3"):
        threads.map_columns(work, range(6), rows=rows)


@pytest.mark.parametrize("rows", [10, threads.PARALLEL_ROWS])
def test_background_work_hands_over_its_result_or_its_error(rows: int) -> None:
    assert threads.in_background(lambda: 42, rows=rows).result() == 42
    failed = threads.in_background(lambda: 1 // 0, rows=rows)
    with pytest.raises(ZeroDivisionError):
        failed.result()
