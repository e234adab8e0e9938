"""`python -m bench`: every benchmark, each beside its baseline from the same run."""

from __future__ import annotations

import sys

from bench import assess, registry, web_load

SUITES = {"registry": registry.run, "assess": assess.run, "web": web_load.run}


def main() -> None:
    """`python -m bench [registry|assess|web ...]`: all suites by default."""
    chosen = sys.argv[1:] or list(SUITES)
    print("tuopin benchmarks (wall time, rows/s, peak RSS; ratio = tuopin / baseline)")
    for name in chosen:
        for line in SUITES[name]():
            print(line, flush=True)


if __name__ == "__main__":
    main()
