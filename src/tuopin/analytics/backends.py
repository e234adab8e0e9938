"""One registry shape on every engine: the store's own database, DuckDB or Spark on a snapshot.

Every table shows the same canonical Ibis schema everywhere (``CANONICAL``), so an expression
compiled once runs unchanged on SQLite, PostgreSQL, DuckDB and PySpark. The store's models live
in ``tuopin.storage``, which analytics may not import, so the schemas are declared here;
``tests/analytics/test_backends.py`` holds them to the models.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pyarrow as pa
from sqlalchemy.engine import make_url

from tuopin.domain.errors import ConfigurationError, NotFound, ValidationFailed

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

ENGINES = ("sqlite", "postgres", "duckdb", "spark")
SNAPSHOT_ENGINES = ("duckdb", "spark")
MANIFEST = "manifest.json"  # written last by a snapshot: without it the folder is not one

# A snapshot's partition column: it lives in folder names, not in the store, so it is dropped.
PARTITION = "county"

# Ids are int64, other integers int32, money float64; "!" marks NOT NULL in the store.
CANONICAL: dict[str, ibis.Schema] = {
    "region": ibis.schema({
        "code": "!string", "name": "!string", "level": "!int32", "parent_code": "string",
        "western": "boolean",
    }),
    "household": ibis.schema({
        "id": "!int64", "number": "!string", "village_code": "!string", "address": "string",
        "status": "!string", "category": "string", "main_cause": "string",
        "other_causes": "string", "year_identified": "int32", "year_exited": "int32",
        "phone": "string", "bank_account": "string", "version": "!int32",
    }),
    "member": ibis.schema({
        "id": "!int64", "household_id": "!int64", "id_number": "!string", "name": "!string",
        "sex": "!string", "birth_date": "!date", "relation": "!string", "ethnicity": "string",
        "education": "string", "schooling_status": "string", "health": "string",
        "disability_grade": "int32", "labour": "string", "months_worked_away": "int32",
        "medical_insurance": "boolean", "critical_illness_insurance": "boolean",
        "pension_insurance": "boolean", "dibao": "boolean", "phone": "string",
        "deceased_date": "date", "version": "!int32",
    }),
    "survey": ibis.schema({
        "id": "!int64", "household_id": "!int64", "year": "!int32", "household_size": "!int32",
        "wage_income": "float64", "production_income": "float64", "property_income": "float64",
        "transfer_income": "float64", "production_costs": "float64",
        "medical_expenses": "float64", "food_secure": "!boolean", "clothing_secure": "!boolean",
        "housing_grade": "!string", "water_quantity_lpd": "float64", "water_piped": "boolean",
        "water_trip_minutes": "float64", "water_outage_days": "int32",
        "water_quality_ok": "boolean", "water_scarce_area": "boolean",
        "collected_by": "string", "collected_on": "date",
    }),
    # for the checks of the books of funds (analytics.funds): whom a helper helps, who was paid
    "helper": ibis.schema({
        "id": "!int64", "number": "!string", "name": "!string", "unit": "!string",
        "post": "string", "phone": "string", "id_number": "string",
    }),
    "helper_assignment": ibis.schema({
        "id": "!int64", "helper_id": "!int64", "household_id": "!int64", "start_date": "date",
        "end_date": "date",
    }),
    # money is int64 fen in the books, never float64 (domain.fen)
    "fund": ibis.schema({
        "id": "!int64", "number": "!string", "name": "!string", "source": "!string",
        "year": "!int32", "amount": "!int64", "region_code": "!string", "received_on": "!date",
        "version": "!int32",
    }),
    "project": ibis.schema({
        "id": "!int64", "number": "!string", "name": "!string", "region_code": "!string",
        "kind": "!string", "budget": "!int64", "start_on": "!date", "end_on": "!date",
        "status": "!string", "closed_on": "date", "version": "!int32",
    }),
    "allocation": ibis.schema({
        "id": "!int64", "fund_id": "!int64", "project_id": "!int64", "amount": "!int64",
        "allocated_on": "!date",
    }),
    "disbursement": ibis.schema({
        "id": "!int64", "number": "!string", "project_id": "!int64",
        "payee_id_number": "string", "payee_household": "string", "amount": "!int64",
        "paid_on": "!date", "channel": "!string", "account": "string", "reverses_id": "int64",
    }),
}
TABLES = tuple(CANONICAL)
# Tables a snapshot written before the books of funds lacks; such a snapshot still serves
# an assessment, and the funds checks say it is too old (analytics.funds.books).
BOOKS_TABLES = ("helper", "helper_assignment", "fund", "project", "allocation",
                "disbursement")


def conform(table: ir.Table, name: str, *, engine: str) -> ir.Table:
    """``table`` with exactly the canonical columns of ``name``, in order, with their types."""
    canonical = CANONICAL[name]
    physical = table.schema()
    missing = [column for column in canonical.names if column not in physical]
    if missing:
        raise ConfigurationError(f"{engine}: table {name} lacks {', '.join(missing)}; "
                                 "is the store at the newest schema?")
    labels: dict[str, dt.DataType] = {}
    casts: dict[str, dt.DataType] = {}
    for column, wanted in canonical.items():
        found = physical[column]
        if found == wanted:
            continue
        if _same_values(found, wanted, engine=engine) and isinstance(table.op(),
                                                                     ops.DatabaseTable):
            labels[column] = wanted
        else:
            casts[column] = wanted
    if labels:
        table = _relabel(table, labels)
    return table.select(*[
        table[column].cast(casts[column]).name(column) if column in casts else table[column]
        for column in canonical.names
    ])


def _same_values(found: dt.DataType, wanted: dt.DataType, *, engine: str) -> bool:
    """True when only the label differs, so a SQL CAST would change nothing but the plan."""
    if found.copy(nullable=wanted.nullable) == wanted:
        return True  # nullability: Parquet and Spark report every column nullable
    if found.is_string() and wanted.is_string():
        return True  # VARCHAR(n) reads back as string(n)
    # SQLite keeps every integer in 64 bits whatever its declared width, so int16 -> int32
    # is a label there; PostgreSQL's smallint arithmetic really overflows, so it is cast.
    return engine == "sqlite" and found.is_integer() and wanted.is_integer()


def _relabel(table: ir.Table, labels: dict[str, dt.DataType]) -> ir.Table:
    # A CAST on a key column would stop SQLite and PostgreSQL from using its index for
    # joins, so label-only differences are fixed on the table reference instead.
    op = table.op()
    assert isinstance(op, ops.DatabaseTable)
    schema = ibis.schema({c: labels.get(c, t) for c, t in op.schema.items()})
    return ops.DatabaseTable(op.name, schema, op.source, op.namespace).to_expr()


@dataclass(frozen=True)
class Registry:
    """The registry's tables on one engine, each with its canonical schema (the books of
    funds are None in a snapshot older than them)."""

    engine: str  # "sqlite" | "postgres" | "duckdb" | "spark"
    backend: ibis.BaseBackend
    region: ir.Table
    household: ir.Table
    member: ir.Table
    survey: ir.Table
    views: tuple[str, ...] = ()  # Spark temporary views to drop on close
    helper: ir.Table | None = None
    helper_assignment: ir.Table | None = None
    fund: ir.Table | None = None
    project: ir.Table | None = None
    allocation: ir.Table | None = None
    disbursement: ir.Table | None = None


def open_store(url: str) -> Registry:
    """Ibis straight on the store's own database (SQLite or PostgreSQL)."""
    parsed = make_url(url)
    backend_name = parsed.get_backend_name()
    backend: ibis.BaseBackend
    if backend_name == "sqlite":
        if not parsed.database or not Path(parsed.database).is_file():
            raise NotFound(f"no SQLite store at {parsed.database!r}")
        backend, engine = ibis.sqlite.connect(parsed.database), "sqlite"
    elif backend_name == "postgresql":
        backend = ibis.postgres.connect(
            host=parsed.host, port=parsed.port or 5432, user=parsed.username,
            password=parsed.password, database=parsed.database,
            **{k: v for k, v in parsed.query.items() if isinstance(v, str)},
        )
        engine = "postgres"
    else:
        raise ConfigurationError(f"no analytics backend for a {backend_name} store")
    tables = {name: conform(backend.table(name), name, engine=engine) for name in TABLES}
    return Registry(engine, backend, **tables)


def open_snapshot(path: Path, *, engine: str = "duckdb", master: str | None = None) -> Registry:
    """DuckDB (in process) or PySpark (``master``, else local[2]) over a Parquet snapshot."""
    path = Path(path)
    if engine not in SNAPSHOT_ENGINES:
        raise ValidationFailed(f"a snapshot opens on {' or '.join(SNAPSHOT_ENGINES)}, "
                               f"not {engine!r}")
    if not (path / MANIFEST).is_file():
        raise NotFound(f"no complete snapshot at {path} ({MANIFEST} is missing)")
    names = [n for n in TABLES if n not in BOOKS_TABLES or (path / n).is_dir()]
    if engine == "duckdb":
        backend = ibis.duckdb.connect()
        # Files only: the county folders carry no column the store has (see PARTITION).
        raw = {name: backend.read_parquet(str(path / name / "**" / "*.parquet"),
                                          table_name=f"snapshot_{name}",
                                          hive_partitioning=False)
               for name in names}
        views: tuple[str, ...] = ()
    else:
        if master is not None and not master.startswith(MASTERS):
            raise ValidationFailed(f"a Spark master is local[n], spark://host:port, yarn or "
                                   f"k8s://..., not {master!r}")
        backend = ibis.pyspark.connect(spark_session(master))
        # Temporary views live as long as the shared session: name them apart, drop on close.
        tag = uuid.uuid4().hex[:8]
        views = tuple(f"tuopin_{tag}_{name}" for name in names)
        raw = {name: backend.read_parquet(str(path / name), table_name=view)
               for name, view in zip(names, views, strict=True)}
    tables = {name: conform(table, name, engine=engine) for name, table in raw.items()}
    return Registry(engine, backend, views=views, **tables)


def open_arrow(tables: Mapping[str, pa.Table]) -> Registry:
    """DuckDB (in process) over Arrow tables already read from the store, without copying
    them; a table not given is empty (a query reads only the tables it needs)."""
    backend = ibis.duckdb.connect()
    conformed: dict[str, ir.Table] = {}
    for name in TABLES:
        data = tables.get(name)
        if data is None:
            data = CANONICAL[name].to_pyarrow().empty_table()
        view = f"arrow_{name}"
        backend.con.register(view, data)  # a view on the Arrow memory, not a copy
        conformed[name] = conform(backend.table(view), name, engine="duckdb")
    return Registry("duckdb", backend, **conformed)


def close(registry: Registry) -> None:
    """Release what ``registry`` holds; the process's Spark session stays for the next one."""
    if registry.engine == "spark":
        session = running_session()
        if session is not None:
            for view in registry.views:
                session.catalog.dropTempView(view)
        return
    registry.backend.disconnect()


# The process's one Spark session. A session takes ~8 s to start (STACK.md) and Spark allows
# one SparkContext per process, so it is made on first use and kept; ``close`` never stops it.
LOCAL = "local[2]"
MASTERS = ("local", "spark://", "yarn", "k8s://")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
_LOCK = threading.Lock()
_HELD: dict[str, Any] = {}  # "session": the session this process made

# Spark's default profile prints INFO/WARN lines at every start; errors are enough. PySpark
# announces "Setting default log level" unless the shell's logger (under org.apache) has a
# configured level equal to the root's, hence the two entries.
LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = stderr
appender.console.type = Console
appender.console.name = stderr
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.apache.name = org.apache
logger.apache.level = error
"""


def spark_session(master: str | None = None) -> SparkSession:
    """The process's Spark session, started on first use (``local[2]`` unless ``master``)."""
    with _LOCK:
        session = _HELD.get("session")
        if session is not None and _alive(session):
            running = session.sparkContext.master
            if master is not None and master != running:
                raise ConfigurationError(
                    f"this process already runs Spark on {running}; Spark allows one "
                    f"session per process, so {master} needs a process of its own")
            return session
        session = _start(master or LOCAL)
        _HELD["session"] = session
        return session


def running_session() -> SparkSession | None:
    """The process's Spark session if it runs, without starting one."""
    with _LOCK:
        session = _HELD.get("session")
        return session if session is not None and _alive(session) else None


def stop_spark() -> None:
    """Stop the process's Spark session, if it made one (the next use starts a new one)."""
    with _LOCK:
        session = _HELD.pop("session", None)
        if session is not None and _alive(session):
            session.stop()


def _alive(session: SparkSession) -> bool:
    # A stopped SparkContext drops its Java peer; pyspark has no public "is stopped".
    return getattr(session.sparkContext, "_jsc", None) is not None


def _on_this_machine(master: str) -> bool:
    return master.startswith("local") or urlparse(master).hostname in LOOPBACK


def _conf(master: str, scratch: Path) -> dict[str, str]:
    conf = {
        # Spark otherwise leaves ./spark-warehouse behind and the next run fails with
        # LOCATION_ALREADY_EXISTS (STACK.md).
        "spark.sql.warehouse.dir": str(scratch / "warehouse"),
        "spark.local.dir": str(scratch / "local"),
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.pyspark.python": sys.executable,
        # Ibis fetches every result with toPandas: through Arrow, not row by row.
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    if _on_this_machine(master):
        # On loopback the driver must not advertise a host name the executors (or a
        # machine without DNS) cannot resolve; a real cluster needs the real address.
        log4j = scratch / "log4j2.properties"
        log4j.write_text(LOG4J2)
        quiet = f"-Dlog4j2.configurationFile=file:{log4j}"
        conf |= {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1",
                 "spark.driver.extraJavaOptions": quiet,
                 "spark.executor.extraJavaOptions": quiet}
    return conf


def _start(master: str) -> SparkSession:
    from pyspark.sql import SparkSession

    scratch = Path(tempfile.mkdtemp(prefix="tuopin-spark-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    builder = SparkSession.builder.master(master).appName("tuopin")
    for key, value in _conf(master, scratch).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
