"""`python -m bench`: every benchmark, each beside its baseline from the same run."""

from __future__ import annotations

from bench import registry


def main() -> None:
    print("tuopin benchmarks (wall time, rows/s, peak RSS; ratio = tuopin / baseline)")
    for line in registry.run():
        print(line, flush=True)


if __name__ == "__main__":
    main()
