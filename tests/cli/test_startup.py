"""`tuopin` starts at once: the command modules import their services when a command runs.

Each check runs in a fresh interpreter (a subprocess), since the test process has long
imported everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
import typer.main

from tuopin.cli import exits_cmd, main
from tuopin.cli.main import app
from tuopin.services.exits import household_exits

# the store, the engines, the file formats and the web (pydantic with it: the settings are
# read without it, and typer < 0.29 parses without it): what `tuopin --help` must never
# wait for
HEAVY = ("sqlalchemy", "alembic", "ibis", "duckdb", "pyarrow", "pandas", "pyspark", "openpyxl",
         "fastapi", "pydantic")
# what a help text must not wait for either: typer's rich help brings rich's markdown and
# pygments, ~130 modules read from disk at every cold start
RENDERERS = ("rich", "markdown_it", "pygments")

# Runs `tuopin ARGS` for each ARGS of a JSON list, in one interpreter, then names the heavy
# modules imported: the exit codes and that list go to standard error.
PROBE = """
import json, sys
import typer.main
from tuopin.cli.main import app
heavy, runs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
command = typer.main.get_command(app)  # built once: app() would build it at every run
codes = []
for args in runs:
    try:
        command.main(args, prog_name="tuopin")
    except SystemExit as exc:
        codes.append(exc.code)
loaded = sorted({name.split(".")[0] for name in sys.modules} & set(heavy))
sys.stderr.write("\\nPROBE " + json.dumps({"codes": codes, "loaded": loaded}) + "\\n")
"""


def probe(*runs: list[str], heavy: tuple[str, ...] = HEAVY) -> tuple[list[int], list[str], str]:
    """Exit codes, ``heavy`` modules loaded and standard output of `tuopin ARGS` for each of
    ``runs``, run one after the other in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(heavy), json.dumps(runs)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "200"})
    found = json.loads(done.stderr.rsplit("PROBE ", 1)[1])
    return found["codes"], found["loaded"], done.stdout


def command_paths() -> list[list[str]]:
    paths: list[list[str]] = []

    def walk(command: Any, prefix: list[str]) -> None:
        # Typer bundles its own click: a group is told by its shape, as in tests/test_docs.py
        for name, sub in command.commands.items():
            paths.append([*prefix, name])
            if hasattr(sub, "commands"):
                walk(sub, [*prefix, name])

    walk(typer.main.get_command(app), [])
    return paths


def test_importing_the_command_line_imports_no_heavy_library() -> None:
    code = ("import json, sys, tuopin.cli.main; "
            "print(json.dumps(sorted({n.split('.')[0] for n in sys.modules})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert sorted(set(json.loads(done.stdout)) & set(HEAVY)) == []


def test_help_lists_every_command_without_a_heavy_import() -> None:
    codes, loaded, out = probe(["--help"], heavy=HEAVY + RENDERERS)
    assert codes == [0] and loaded == []
    top = {path[0] for path in command_paths()}
    assert len(top) > 20 and [name for name in sorted(top) if f" {name} " not in out] == []


def test_the_help_of_every_command_needs_no_heavy_import() -> None:
    # the options' choices and defaults are read at import: they must be light too
    paths = command_paths()
    codes, loaded, _ = probe(*[[*path, "--help"] for path in paths], heavy=HEAVY + RENDERERS)
    assert loaded == []
    assert [path for path, code in zip(paths, codes, strict=True) if code != 0] == []


def test_a_command_that_needs_no_store_imports_none() -> None:
    codes, loaded, out = probe(["standards", "list", "--format", "json"])
    assert codes == [0] and loaded == []
    assert "cn-national" in {row["name"] for row in json.loads(out)}


def test_the_default_standard_of_exits_is_the_services() -> None:
    assert exits_cmd.EXIT_STANDARD == household_exits.DEFAULT_STANDARD


def test_the_root_options_that_take_a_value_are_the_ones_skipped_to_find_the_command() -> None:
    root = typer.main.get_command(app)
    taking = {name for param in root.params if not getattr(param, "is_flag", True)
              for name in param.opts}
    assert taking == set(main.ROOT_VALUE_OPTIONS)


@pytest.mark.parametrize("argv", [["summary"], ["--operator", "summary", "summary"],
                                  ["--database-url=sqlite://", "--debug", "summary", "--help"]])
def test_a_run_builds_only_the_command_it_names(argv: list[str]) -> None:
    assert list(typer.main.get_command(main.narrowed(argv)).commands) == ["summary"]


@pytest.mark.parametrize("argv", [[], ["--help"], ["--operator", "x"], ["summry"]])
def test_the_root_help_and_an_unknown_name_get_every_command(argv: list[str]) -> None:
    assert main.narrowed(argv) is app


def test_every_command_is_found_by_its_name() -> None:
    top = sorted({path[0] for path in command_paths()})
    found = {name: list(typer.main.get_command(main.narrowed([name])).commands) for name in top}
    assert found == {name: [name] for name in top}
