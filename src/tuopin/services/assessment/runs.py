"""Assessment runs: compute with the chosen engine, record the run and its results for good.

A run records the standard's name, version, hash and full text, the year, when the data were
read, the engine, counts and timings; results hold one row per surveyed household with the
facts for its explanations. Runs are never updated: every later decision (plans, exits,
monitoring) names the run it used.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tuopin.domain.errors import NotFound, ValidationFailed
from tuopin.domain.scope import Scope
from tuopin.services import audit
from tuopin.services.access.policy import Action, changes, reads
from tuopin.services.access.principal import Principal
from tuopin.standards.loader import load, loads
from tuopin.standards.model import Standard
from tuopin.storage.models import AssessmentResultRecord, AssessmentRunRecord, HouseholdRecord
from tuopin.storage.scope import in_households, in_region

if TYPE_CHECKING:
    import pyarrow as pa

# pyarrow, the bulk loader and the explanation texts are imported by the functions that
# compute and store runs: the commands that read stored runs (plans, exits, monitoring)
# start without them.

ENGINES = ("auto", "db", "duckdb", "spark")


@dataclass(frozen=True)
class Computed:
    standard: Standard
    year: int
    engine: str
    snapshot_at: str
    results: pa.Table
    timings: dict[str, float]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def choose_engine(engine: Engine, requested: str) -> str:
    """``auto``: the store itself. Measured on SQLite (2 cores, cn-national): 30,000
    households 1.0 s on the store against 2.6 s for a fresh Parquet snapshot + DuckDB,
    150,000 households 3.6 s against 9.3 s; writing the snapshot costs more than DuckDB
    saves, so DuckDB pays only on a snapshot taken once and reused (``--snapshot``)."""
    if requested not in ENGINES:
        raise ValidationFailed(f"unknown engine {requested!r}; use one of {', '.join(ENGINES)}")
    return "db" if requested == "auto" else requested


@contextmanager
def _registry(engine: Engine, name: str, snapshot: Path | None,
              master: str | None) -> Iterator[tuple[Any, str]]:
    # Ibis, DuckDB and pyarrow.dataset take seconds to import: only computing needs them
    # (not the web, nor the commands that read stored runs).
    from tuopin.analytics import backends

    url = engine.url.render_as_string(hide_password=False)
    if name == "db":
        registry = backends.open_store(url)
        taken = _now()
        try:
            yield registry, taken
        finally:
            backends.close(registry)
        return
    with tempfile.TemporaryDirectory(prefix="tuopin-snapshot-") as scratch:
        folder = snapshot
        if folder is None:
            from tuopin.storage.snapshot import write_snapshot

            folder = Path(scratch) / "snapshot"
            write_snapshot(url, folder, taken_at=datetime.now(UTC))
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        registry = backends.open_snapshot(folder, engine=name, master=master)
        try:
            yield registry, str(manifest.get("taken_at", _now()))
        finally:
            backends.close(registry)


@reads(Action.ASSESS)
def compute(engine: Engine, *, principal: Principal, standard: Standard, year: int,
            engine_name: str = "auto", snapshot: Path | None = None,
            master: str | None = None) -> Computed:
    """Assess every surveyed household of ``year`` in the principal's region without
    storing anything."""
    scope = principal.scope
    if not standard.years[0] <= year <= standard.years[1]:
        raise ValidationFailed(f"{standard.name} is valid for {standard.years[0]}-"
                               f"{standard.years[1]}, not {year}")
    chosen = choose_engine(engine, engine_name)
    from tuopin.analytics.assess import Plan, run_query

    plan = Plan(standard, year, standard.income_line(year).amount)
    started = time.perf_counter()
    with _registry(engine, chosen, snapshot, master) as (registry, taken):
        opened = time.perf_counter()
        results = run_query(registry, plan, scope_prefix=scope.prefix)
    done = time.perf_counter()
    return Computed(standard, year, chosen, taken, results,
                    {"open": round(opened - started, 3), "query": round(done - opened, 3)})


def _facts(results: pa.Table, standard: Standard) -> pa.Array:
    """The JSON facts of each household's deprived indicators (null when it has none); only
    the households with a deprived indicator become Python objects."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from tuopin.analytics.assess import placeholders
    from tuopin.standards.explain import parse_members

    wanted = placeholders(standard)
    flags = [results.column(f"d_{i.id}").fill_null(False) for i in standard.indicators]
    mask = flags[0] if flags else pa.chunked_array([pa.nulls(results.num_rows, pa.bool_())])
    for flag in flags[1:]:
        mask = pc.or_(mask, flag)
    mask = mask.fill_null(False)
    keep = [c for c in results.column_names if c.startswith(("d_", "m_", "v_"))]
    facts: list[str | None] = []
    for row in results.select(keep).filter(mask).to_pylist():
        item: dict[str, Any] = {}
        for indicator in standard.indicators:
            if not row[f"d_{indicator.id}"]:
                continue
            entry: dict[str, Any] = {}
            if f"m_{indicator.id}" in row:
                entry["members"] = parse_members(row[f"m_{indicator.id}"])
            values = {p: row[f"v_{p.replace('.', '__')}"] for p in wanted[indicator.id]}
            if values:
                entry["values"] = values
            item[indicator.id] = entry
        facts.append(json.dumps(item, ensure_ascii=False, sort_keys=True) if item else None)
    empty = pa.nulls(results.num_rows, pa.string())
    return pc.replace_with_mask(empty, mask.combine_chunks(), pa.array(facts, pa.string()))


def _joined(results: pa.Table, prefix: str, ids: list[str]) -> pa.ChunkedArray:
    """';'-joined ids of the flags that are true, per row (ids hold no ';')."""
    import pyarrow as pa
    import pyarrow.compute as pc

    blank = pa.scalar("", pa.string())
    parts = [pc.if_else(results.column(f"{prefix}{i}").fill_null(False),
                        pa.scalar(f"{i};", pa.string()), blank) for i in ids]
    if not parts:
        return pa.chunked_array([pa.nulls(results.num_rows, pa.string()).fill_null("")])
    return pc.utf8_rtrim(pc.binary_join_element_wise(*parts, blank), characters=";")


def result_rows(run_id: int, computed: Computed) -> pa.Table:
    """The results as rows of ``assessment_result``."""
    return _result_rows(run_id, computed.results, computed.standard)


def _result_rows(run_id: int, r: pa.Table, standard: Standard) -> pa.Table:
    import pyarrow as pa
    import pyarrow.compute as pc

    return pa.table({
        "run_id": pc.fill_null(pa.nulls(r.num_rows, pa.int64()), run_id),
        "household_id": r.column("hid").cast(pa.int64()),
        "household_number": r.column("number"),
        "village_code": r.column("village_code"),
        "members": r.column("members").cast(pa.int64()),
        "income_per_capita": r.column("income_per_capita").cast(pa.float64()),
        "score": r.column("score").cast(pa.float64()),
        "poor": r.column("poor").cast(pa.bool_()),
        "deprived": _joined(r, "d_", [i.id for i in standard.indicators]),
        "categories": _joined(r, "c_", [c.id for c in standard.categories]),
        "facts": _facts(r, standard),
    })


def _counts(computed: Computed) -> dict[str, Any]:
    import pyarrow.compute as pc

    r = computed.results
    poor = r.column("poor")
    members = r.column("members")
    return {
        "households": r.num_rows,
        "members": int(pc.sum(members).as_py() or 0),
        "poor_households": int(pc.sum(poor).as_py() or 0),
        "poor_members": int(pc.sum(pc.if_else(poor, members, 0)).as_py() or 0),
        "indicators": {i.id: int(pc.sum(r.column(f"d_{i.id}")).as_py() or 0)
                       for i in computed.standard.indicators},
        "categories": {c.id: int(pc.sum(r.column(f"c_{c.id}")).as_py() or 0)
                       for c in computed.standard.categories},
    }


@changes(Action.ASSESS)
def record(engine: Engine, computed: Computed, *, principal: Principal,
           note: str | None = None) -> int:
    """Store the run and its results in one transaction, audited; return the run id."""
    from tuopin.storage import bulk, rollups

    actor, scope = principal.actor, principal.scope
    counts = _counts(computed)
    started = time.perf_counter()
    with engine.begin() as conn:
        run = conn.execute(AssessmentRunRecord.__table__.insert().values(  # type: ignore[attr-defined]
            standard_name=computed.standard.name, standard_version=computed.standard.version,
            standard_hash=computed.standard.content_hash, standard_text=computed.standard.text,
            year=computed.year, engine=computed.engine,
            scope=scope.region_code, snapshot_at=computed.snapshot_at,
            created_at=_now(), created_by=actor, households=counts["households"],
            members=counts["members"], poor_households=counts["poor_households"],
            poor_members=counts["poor_members"], counts=json.dumps(counts),
            timings=json.dumps(computed.timings), note=note,
        ).returning(AssessmentRunRecord.id)).scalar_one()
        rows = result_rows(run, computed)
        target = bulk.table_for("assessment_result", rows.schema)
        bulk.load(conn, target, rows)
        rollups.write(conn, run)
        audit.record(conn, actor=actor, action="assess", entity="assessment_run",
                     entity_id=str(run), after={
                         "standard": computed.standard.name,
                         "version": computed.standard.version,
                         "hash": computed.standard.content_hash, "year": computed.year,
                         "engine": computed.engine, "households": counts["households"],
                         "poor_households": counts["poor_households"]})
        stored = round(time.perf_counter() - started, 3)
        conn.execute(AssessmentRunRecord.__table__.update()  # type: ignore[attr-defined]
                     .where(AssessmentRunRecord.id == run)
                     .values(timings=json.dumps({**computed.timings, "store": stored})))
    return int(run)


def standard_of(name_or_path: str) -> Standard:
    return load(name_or_path)


def run_standard(run: AssessmentRunRecord) -> Standard:
    """The exact standard a run used, rebuilt from the text it stored."""
    return _parsed(run.standard_text, f"run {run.id} ({run.standard_name})")


@lru_cache(maxsize=32)
def _parsed(text: str, source: str) -> Standard:
    # Parsing takes ~25 ms and every household page needs it; a stored run never changes.
    return loads(text, source=source)


def get_run(conn_or_session: Any, run_id: int) -> AssessmentRunRecord:
    run = conn_or_session.get(AssessmentRunRecord, run_id)
    if run is None:
        raise NotFound(f"assessment run {run_id} not found")
    return run


def run_row(run: AssessmentRunRecord, *, full: bool = True) -> dict[str, Any]:
    """A run's record as plain data (``full``: its counts per indicator and its timings)."""
    counts = json.loads(run.counts)
    row = {
        "run": run.id, "standard": run.standard_name, "version": run.standard_version,
        "hash": run.standard_hash[:16], "year": run.year, "engine": run.engine,
        "scope": run.scope or "", "snapshot_at": run.snapshot_at, "created_by": run.created_by,
        "households": run.households, "members": run.members,
        "poor_households": run.poor_households, "poor_members": run.poor_members,
    }
    if full:
        row.update({f"deprived:{k}": v for k, v in counts.get("indicators", {}).items()})
        row.update({f"category:{k}": v for k, v in counts.get("categories", {}).items()})
        row["timings"] = run.timings
    return row


@reads()
def run_info(session: Session, *, principal: Principal, run_id: int) -> dict[str, Any]:
    """One run's record, with its counts per indicator and its timings."""
    return run_row(get_run(session, run_id))


@reads()
def list_runs(session: Session, *, principal: Principal) -> list[dict[str, Any]]:
    """Every recorded run, oldest first."""
    runs = session.scalars(select(AssessmentRunRecord).order_by(AssessmentRunRecord.id))
    return [run_row(r, full=False) for r in runs]


R = AssessmentResultRecord
RUN = AssessmentRunRecord


def _result_query(number: str, scope: Scope) -> Any:
    """A household's results with their run's name, year and standard hash (not its text);
    through the household's id, which results are indexed by (their number is not)."""
    return (select(R, RUN.standard_name, RUN.year, RUN.standard_hash)
            .join(HouseholdRecord, HouseholdRecord.id == R.household_id)
            .join(RUN, RUN.id == R.run_id)
            .where(HouseholdRecord.number == number, in_region(scope, R.village_code),
                   in_households(scope, HouseholdRecord.number)))


def _standard_by_hash(session: Any, run_id: int, content_hash: str) -> Standard:
    """A run's standard, read and parsed only the first time its text (hash) is seen."""
    parsed = _PARSED_BY_HASH.get(content_hash)
    if parsed is None:
        parsed = run_standard(get_run(session, run_id))
        _PARSED_BY_HASH[content_hash] = parsed
    return parsed


_PARSED_BY_HASH: dict[str, Standard] = {}  # a few standards per process, each immutable


def _explained(session: Any, found: Any, number: str, lang: str) -> dict[str, Any]:
    from tuopin.standards.explain import explain_all

    row, name, year, content_hash = found
    standard = _standard_by_hash(session, row.run_id, content_hash)
    deprived = [d for d in row.deprived.split(";") if d]
    return {
        "run": row.run_id, "standard": name, "year": year,
        "household": number, "poor": row.poor, "score": row.score,
        "income_per_capita": row.income_per_capita,
        "categories": [c for c in row.categories.split(";") if c],
        "indicators": explain_all(standard, deprived, json.loads(row.facts or "{}"), lang),
    }


@reads()
def household_result(session: Any, *, principal: Principal, run_id: int, number: str,
                     lang: str = "zh") -> dict[str, Any]:
    """One household's result in a run, with an explanation of every failed indicator."""
    get_run(session, run_id)  # NotFound for a run that does not exist
    found = session.execute(_result_query(number, principal.scope)
                            .where(R.run_id == run_id)).first()
    if found is None:
        raise NotFound(f"household {number} has no result in run {run_id}")
    return _explained(session, found, number, lang)


@reads()
def latest_household_result(session: Any, *, principal: Principal, number: str,
                            lang: str = "zh") -> dict[str, Any] | None:
    """The household's result of the latest year assessed (of that year's newest run),
    explained; None if none. A past year assessed again later does not hide the latest."""
    found = session.execute(_result_query(number, principal.scope)
                            .order_by(RUN.year.desc(), R.run_id.desc()).limit(1)).first()
    return None if found is None else _explained(session, found, number, lang)
