"""`python -m bench`: every benchmark, each beside its baseline from the same run."""

from __future__ import annotations

import sys

from bench import api_load, assess, funds, mpi, registry, startup, web_load

SUITES = {"startup": startup.run, "registry": registry.run, "assess": assess.run,
          "funds": funds.run, "mpi": mpi.run, "web": web_load.run, "api": api_load.run}


def main() -> None:
    """`python -m bench [startup|registry|assess|funds|mpi|web|api ...]`: all by default."""
    chosen = sys.argv[1:] or list(SUITES)
    if unknown := [name for name in chosen if name not in SUITES]:
        asked = set(unknown) <= {"-h", "--help"}
        print(f"usage: python -m bench [{'|'.join(SUITES)} ...]  (all suites by default)",
              file=sys.stdout if asked else sys.stderr)
        sys.exit(0 if asked else 2)
    print("tuopin benchmarks (wall time, rows/s, peak RSS; ratio = tuopin / baseline)")
    for name in chosen:
        for line in SUITES[name]():
            print(line, flush=True)


if __name__ == "__main__":
    main()
