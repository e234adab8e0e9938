"""Assessment benchmark steps: tuopin (Ibis) against hand-written DuckDB SQL and pandas.

Each returns seconds for: the cn-national assessment of every household of 2019 plus the
incidence roll-up at all five levels, and prints the poor-household count so the runner can
check the implementations agree.
"""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

YEAR = 2019
LINE = 3026.0  # cn-national's 2019 line (2017's applies)
LEVELS = (2, 4, 6, 9, 12)


def _rollups(village: pa.Array, members: pa.Array, poor: pa.Array) -> int:
    table = pa.table({"v": village, "m": members, "p": pc.if_else(poor, members, 0),
                      "h": pc.cast(poor, pa.int64())})
    for digits in LEVELS:
        keyed = table.append_column("r", pc.utf8_slice_codeunits(table.column("v"), 0, digits))
        keyed.group_by("r").aggregate([("m", "sum"), ("p", "sum"), ("h", "sum")])
    return int(pc.sum(table.column("h")).as_py())


def tuopin_engine(snapshot: str, engine: str = "duckdb") -> tuple[float, int]:
    import ibis

    from tuopin.analytics.assess import Plan, rollup
    from tuopin.analytics.backends import close, open_snapshot
    from tuopin.standards.loader import load

    # import the engine's Ibis backend before the clock starts, as the baselines import theirs
    ibis.duckdb.connect().disconnect() if engine == "duckdb" else None
    standard = load("cn-national")
    started = time.perf_counter()
    registry = open_snapshot(Path(snapshot), engine=engine)
    levels = rollup(registry, Plan(standard, YEAR, standard.income_line(YEAR).amount))
    seconds = time.perf_counter() - started
    close(registry)
    # the province rows hold every household once
    poor = sum(row["poor_households"] for row in levels.to_pylist() if row["level"] == 1)
    return seconds, poor


HAND_SQL = """
WITH h AS (SELECT * FROM read_parquet('{s}/household/**/*.parquet')),
s AS (SELECT * FROM read_parquet('{s}/survey/**/*.parquet') WHERE year = {year}),
m AS (SELECT household_id, name, {year} - year(birth_date) AS age, schooling_status,
             medical_insurance
      FROM read_parquet('{s}/member/**/*.parquet')
      WHERE deceased_date IS NULL OR deceased_date > DATE '{year}-12-31'),
agg AS (SELECT household_id, count(*) AS size,
        bool_or(age BETWEEN 6 AND 15 AND schooling_status IN ('dropped_out', 'not_school_age'))
          AS edu,
        bool_or(NOT coalesce(medical_insurance, false)) AS med
        FROM m GROUP BY household_id),
r AS (
  SELECT h.village_code, coalesce(agg.size, 0) AS members,
    (coalesce(s.wage_income, 0) + coalesce(s.production_income, 0)
     + coalesce(s.property_income, 0) + coalesce(s.transfer_income, 0)
     - coalesce(s.production_costs, 0)) / s.household_size < {line}
    OR NOT s.food_secure OR NOT s.clothing_secure OR coalesce(agg.edu, false)
    OR coalesce(agg.med, false) OR s.housing_grade IN ('C', 'D')
    OR coalesce(s.water_quantity_lpd < CASE WHEN coalesce(s.water_scarce_area, false)
                                       THEN 20 ELSE 35 END, false)
    OR coalesce(NOT coalesce(s.water_piped, false) AND s.water_trip_minutes > 20, false)
    OR coalesce(s.water_outage_days > 36, false) OR coalesce(NOT s.water_quality_ok, false)
    AS poor
  FROM h JOIN s ON s.household_id = h.id LEFT JOIN agg ON agg.household_id = h.id)
SELECT village_code, members, poor FROM r
"""


def duckdb_sql(snapshot: str) -> tuple[float, int]:
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect()
    table = con.execute(HAND_SQL.format(s=snapshot, year=YEAR, line=LINE)).arrow()
    if isinstance(table, pa.RecordBatchReader):
        table = table.read_all()
    poor = _rollups(table.column("village_code"), table.column("members"), table.column("poor"))
    return time.perf_counter() - started, poor


# The same query with the roll-up written in SQL as well (GROUPING SETS), so that no Arrow
# group-by (and no pandas import, which pyarrow makes on its first Python scalar) is timed.
HAND_ROLLUP_SQL = HAND_SQL.replace("SELECT village_code, members, poor FROM r", """
SELECT left(village_code, 2) AS l2, left(village_code, 4) AS l4, left(village_code, 6) AS l6,
       left(village_code, 9) AS l9, village_code AS l12, count(*) AS households,
       sum(members) AS people, count(*) FILTER (WHERE poor) AS poor_households,
       coalesce(sum(members) FILTER (WHERE poor), 0) AS poor_people
FROM r GROUP BY GROUPING SETS ((l2), (l4), (l6), (l9), (l12))
""")


def duckdb_sql_rollup(snapshot: str) -> tuple[float, int]:
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect()
    rows = con.execute(HAND_ROLLUP_SQL.format(s=snapshot, year=YEAR, line=LINE)).fetchall()
    seconds = time.perf_counter() - started
    return seconds, sum(row[7] for row in rows if row[0] is not None)


def pandas_plain(snapshot: str) -> tuple[float, int]:
    import pandas as pd

    started = time.perf_counter()
    h = pd.read_parquet(f"{snapshot}/household")
    s = pd.read_parquet(f"{snapshot}/survey")
    s = s[s["year"] == YEAR]
    m = pd.read_parquet(f"{snapshot}/member", columns=[
        "household_id", "birth_date", "deceased_date", "schooling_status", "medical_insurance"])
    end = pd.Timestamp(f"{YEAR}-12-31")
    died = pd.to_datetime(m["deceased_date"])
    m = m[died.isna() | (died > end)]
    age = YEAR - pd.to_datetime(m["birth_date"]).dt.year
    m = m.assign(edu=age.between(6, 15) & m["schooling_status"].isin(
        ["dropped_out", "not_school_age"]), med=~m["medical_insurance"].fillna(False).astype(bool))
    agg = m.groupby("household_id").agg(size=("edu", "size"), edu=("edu", "any"),
                                        med=("med", "any"))
    r = h[["id", "village_code"]].rename(columns={"id": "hid"}).merge(
        s, left_on="hid", right_on="household_id")
    r = r.merge(agg, left_on="hid", right_index=True, how="left")
    income = (r[["wage_income", "production_income", "property_income", "transfer_income"]]
              .fillna(0).sum(axis=1) - r["production_costs"].fillna(0)) / r["household_size"]
    scarce = r["water_scarce_area"].fillna(False).astype(bool)
    poor = ((income < LINE) | ~r["food_secure"] | ~r["clothing_secure"]
            | r["edu"].fillna(False).astype(bool) | r["med"].fillna(False).astype(bool)
            | r["housing_grade"].isin(["C", "D"])
            | (r["water_quantity_lpd"] < scarce.map({True: 20, False: 35}))
            | (~r["water_piped"].fillna(False).astype(bool) & (r["water_trip_minutes"] > 20))
            | (r["water_outage_days"] > 36) | (r["water_quality_ok"] == False))  # noqa: E712
    members = r["size"].fillna(0).astype("int64")
    levels = r.assign(members=members, poor_members=members.where(poor, 0), poor=poor)
    for digits in LEVELS:
        levels.groupby(levels["village_code"].str[:digits])[
            ["members", "poor_members", "poor"]].sum()
    return time.perf_counter() - started, int(poor.sum())
