"""Column-wise work spread over the machine's cores.

Arrow's compute kernels and NumPy's array operations release the GIL, so typing the
columns of a big file in a few threads runs them side by side (a million members: the
cells' checks 1.9 s -> ~1 s on two cores). Small files stay on the calling thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from threading import Thread
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this many rows a column is checked in milliseconds: threads would only add overhead.
PARALLEL_ROWS = 50_000


def _cores() -> int:
    """The processors this process may run on (a container's share, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def map_columns(work: Callable[[T], R], items: Iterable[T], *, rows: int) -> list[R]:
    """``[work(item) for item in items]``, in threads when the columns are long.

    Results keep the items' order, so whatever is built from them (problems, tables) is
    the same as on one thread; the first exception raised by ``work`` is raised here.
    """
    items = list(items)
    workers = min(_cores(), len(items))
    if rows < PARALLEL_ROWS or workers < 2:
        return [work(item) for item in items]
    with ThreadPoolExecutor(workers, thread_name_prefix="tuopin-columns") as pool:
        return list(pool.map(work, items))


def in_background(work: Callable[[], R], *, rows: int) -> Future[R]:
    """``work()`` started on a thread of its own when the columns are long (done at once
    otherwise); ``.result()`` waits for it and raises what it raised."""
    done: Future[R] = Future()

    def run() -> None:
        try:
            done.set_result(work())
        except BaseException as exc:  # handed to whoever asks for the result
            done.set_exception(exc)

    if rows < PARALLEL_ROWS or _cores() < 2:
        run()
    else:
        Thread(target=run, name="tuopin-columns", daemon=True).start()
    return done
