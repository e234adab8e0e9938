"""`tuopin survey estimate`: the issue's JSON keys, tables, CSV/XLSX/Parquet, clean errors."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from tuopin.cli.main import app, main

runner = CliRunner()
DATA = runpy.run_path(str(Path(__file__).parents[1] / "analytics" / "r_reference"
                          / "survey_data.py"))
DESIGN = ["--strata", "stratum", "--psu", "psu", "--weight", "w"]
FIGURES = ["estimate", "se", "ci95", "ci95_t", "deff"]
SHARE = ["estimate", "se", "ci95", "ci95_wald", "deff"]


def write(frame_name: str, path: Path) -> Path:
    frame = pd.DataFrame(DATA["FRAMES"][frame_name]())
    if path.suffix == ".csv":
        DATA["write_csv"](DATA["FRAMES"][frame_name](), path)
    elif path.suffix == ".xlsx":
        frame.to_excel(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def estimate_json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["survey", "estimate", *args, "--format", "json"],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.stdout
    return json.loads(result.stdout)


def refusal(args: list[str], monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", ["tuopin", "survey", "estimate", *args])
    with pytest.raises(SystemExit) as caught:
        main()
    err = capsys.readouterr().err.strip()
    assert caught.value.code == 1, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_the_json_has_exactly_the_issue_s_keys_from_every_file_type(
        tmp_path: Path, suffix: str) -> None:
    path = write("cluster", tmp_path / f"cluster{suffix}")
    data = estimate_json(str(path), "--y", "y_na", *DESIGN, "--by", "dom_na")
    assert list(data) == ["n", "n_rows", "sum_weights", "degf", "mean", "total", "domains"]
    assert list(data["mean"]) == FIGURES and list(data["total"]) == FIGURES
    for domain in data["domains"]:
        assert list(domain) == ["level", "n", "sum_weights", "degf", "mean", "total"]
        assert list(domain["mean"]) == FIGURES and list(domain["total"]) == FIGURES
    # R's "missing" case (tests/analytics/r_reference/survey_reference.json)
    assert (data["n"], data["n_rows"], data["degf"]) == (48, 62, 9)
    assert data["mean"]["se"] == pytest.approx(1.18302737112141, rel=1e-6)
    assert [(d["level"], d["n"], d["degf"]) for d in data["domains"]] == [
        ("a", 24, 9), ("b", 13, 7), ("c", 5, 4)]


def test_a_proportion_has_its_logit_and_wald_intervals_and_no_mean(tmp_path: Path) -> None:
    path = write("cluster", tmp_path / "cluster.csv")
    data = estimate_json(str(path), "--y", "y01", *DESIGN, "--proportion")
    assert list(data) == ["n", "n_rows", "sum_weights", "degf", "proportion", "total"]
    assert list(data["proportion"]) == SHARE
    assert data["proportion"]["se"] == pytest.approx(0.077955232809023, rel=1e-6)


def test_the_lonely_psu_rule_and_the_fpc_reach_the_estimator(tmp_path: Path) -> None:
    path = write("lonely", tmp_path / "lonely.parquet")
    data = estimate_json(str(path), "--y", "y", *DESIGN, "--lonely-psu", "adjust")
    assert data["mean"]["se"] == pytest.approx(1.14104430041866, rel=1e-6)
    srs = write("srs", tmp_path / "srs.csv")
    assert estimate_json(str(srs), "--y", "y", "--fpc", "N")["mean"]["se"] == pytest.approx(
        1.83703282442095, rel=1e-6)


def test_the_table_shows_the_sample_its_figures_and_its_domains(tmp_path: Path) -> None:
    path = write("cluster", tmp_path / "cluster.csv")
    result = runner.invoke(app, ["survey", "estimate", str(path), "--y", "y", *DESIGN,
                                 "--by", "dom"], catch_exceptions=False)
    assert result.exit_code == 0, result.stdout
    out = result.stdout
    for text in ("n_rows", "degf", "mean", "total", "ci95", "domains", "27.814"):
        assert text in out, text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--y", "nothing"], "unknown column(s): nothing"),
        (["--y", "dom"], "column dom must hold numbers"),
        (["--y", "y", "--strata", "stratum", "--psu", "psu"], "stratum 'zone' has a single PSU"),
        (["--y", "y", "--proportion"], "needs y to be 0 or 1"),
        (["--y", "y", "--weight", "y_na"], "column y_na has no value in data row 2"),
    ],
)
def test_bad_input_is_one_clean_line_naming_what_is_wrong(
        tmp_path: Path, args: list[str], message: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = write("lonely", tmp_path / "lonely.csv")
    assert message in refusal([str(path), *args, "--lang", "en"], monkeypatch, capsys)


def test_files_it_cannot_read_are_refused_cleanly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert "no such file" in refusal([str(tmp_path / "absent.csv"), "--y", "y", "--lang",
                                      "en"], monkeypatch, capsys)
    (tmp_path / "notes.txt").write_text("y\n1\n", encoding="utf-8")
    assert "use a .csv, .xlsx or .parquet file" in refusal(
        [str(tmp_path / "notes.txt"), "--y", "y", "--lang", "en"], monkeypatch, capsys)


def test_messages_are_in_chinese_by_default(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("TUOPIN_LANG", raising=False)
    path = write("lonely", tmp_path / "lonely.csv")
    err = refusal([str(path), "--y", "y", "--strata", "stratum", "--psu", "psu"],
                  monkeypatch, capsys)
    assert "'zone'" in err and "层" in err
