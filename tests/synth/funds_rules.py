"""The rules of `tuopin funds check` written plainly over the generated files (pandas).

A second reading of the issue's rules, for the generator's tests: a clean book must give
no finding and a planted one exactly its planted cases. The engine (services/funds/checks)
is tested against the planted cases in test_funds_planted.py.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from tuopin.io.schema import Kind, field_names, file_name

WINDOW_DAYS = 30
YEARS_AFTER_EXIT = 5
IDLE_DAYS = 365
FINISHED = {"completed", "closed"}


def read_books(directory: Path) -> dict[Kind, pd.DataFrame]:
    """Every file as text cells, empty string for an empty cell."""
    return {kind: pd.read_csv(directory / file_name(kind), dtype=str, keep_default_na=False,
                              usecols=field_names(kind)) for kind in Kind}


def fen(column: pd.Series) -> pd.Series:
    parts = column.str.extract(r"^(-?)(\d+)\.(\d\d)$")
    assert parts.notna().all().all(), "an amount is not exact text with two decimals"
    fen = parts[1].astype("int64") * 100 + parts[2].astype("int64")
    return fen.where(parts[0] != "-", -fen)


def _prefix(code: pd.Series) -> pd.Series:
    """A region code without its trailing zero groups: the prefix of the codes inside it."""
    return code.str.replace(r"(000)+$", "", regex=True)


def findings(books: dict[Kind, pd.DataFrame], as_of: date) -> set[tuple[str, str]]:
    """(rule, subject) of every finding on ``as_of``."""
    return _payment_findings(books) | _book_findings(books, as_of)


def _payees(books: dict[Kind, pd.DataFrame]) -> pd.DataFrame:
    pay = books[Kind.DISBURSEMENTS].copy()
    pay["fen"] = fen(pay.amount)
    pay["paid"] = pd.to_datetime(pay.paid_on)
    members = books[Kind.MEMBERS].set_index("id_number")
    homes = books[Kind.HOUSEHOLDS].set_index("number")
    by_id = pay.payee_id_number != ""
    pay["household"] = pay.payee_household.where(
        ~by_id, pay.payee_id_number.map(members.household_number))
    pay["registered"] = pay.household.isin(homes.index) & (
        ~by_id | pay.payee_id_number.isin(members.index))
    pay["died"] = pd.to_datetime(pay.payee_id_number.map(members.deceased_date)
                                 .replace("", None))
    pay["status"] = pay.household.map(homes.status)
    pay["exited"] = pd.to_numeric(pay.household.map(homes.year_exited), errors="coerce")
    pay["village"] = pay.household.map(homes.village_code)
    return pay


def _payment_findings(books: dict[Kind, pd.DataFrame]) -> set[tuple[str, str]]:
    pay = _payees(books)
    projects = books[Kind.PROJECTS].set_index("number")
    reversed_ = set(pay.reverses[pay.reverses != ""])
    live = pay[(pay.reverses == "") & ~pay.number.isin(reversed_)].copy()
    found: set[tuple[str, str]] = set()

    def flag(rule: str, rows: pd.DataFrame) -> None:
        found.update((rule, n) for n in rows.number)

    flag("payee_not_registered", live[~live.registered])
    known = live[live.registered].copy()
    flag("payee_deceased", known[known.died.notna() & (known.paid >= known.died)])
    flag("payee_ineligible", known[(known.status == "ordinary") | (
        (known.status == "exited")
        & (known.paid.dt.year - known.exited > YEARS_AFTER_EXIT))])
    region = _prefix(known.project.map(projects.region_code))
    inside = pd.Series([v.startswith(r) for v, r in zip(known.village, region, strict=True)],
                       index=known.index, dtype=bool)
    flag("outside_region", known[~inside])
    live["payee"] = live.payee_id_number.where(live.payee_id_number != "",
                                               "h" + live.payee_household)
    ordered = live.sort_values(["project", "payee", "paid", "number"])
    gap = ordered.groupby(["project", "payee"]).paid.diff()
    flag("duplicate_payment", ordered[gap.notna() & (gap <= pd.Timedelta(days=WINDOW_DAYS))])
    flag("conflict_of_interest", _conflicts(books, known))
    return found


def _conflicts(books: dict[Kind, pd.DataFrame], known: pd.DataFrame) -> pd.DataFrame:
    helpers = books[Kind.HELPERS]
    helpers = helpers[helpers.id_number != ""]
    members = books[Kind.MEMBERS]
    homes = books[Kind.HOUSEHOLDS].set_index("number")
    cadres = members[members.id_number.isin(set(helpers.id_number))]
    if cadres.empty:
        return known.iloc[:0]
    villages_of = {
        row.id_number: {homes.village_code.get(h) for h in row.households.split(";")}
        for row in helpers.itertuples() if row.id_number in set(cadres.id_number)}
    cadre_home = dict(zip(cadres.household_number, cadres.id_number, strict=True))
    hit = pd.Series([h in cadre_home and v in villages_of[cadre_home[h]]
                     for h, v in zip(known.household, known.village, strict=True)],
                    index=known.index, dtype=bool)
    return known[hit]


def _book_findings(books: dict[Kind, pd.DataFrame], as_of: date) -> set[tuple[str, str]]:
    day = pd.Timestamp(as_of)
    pay = books[Kind.DISBURSEMENTS]
    net = fen(pay.amount).groupby(pay.project).sum()
    alloc = books[Kind.ALLOCATIONS].copy()
    alloc["fen"] = fen(alloc.amount)
    alloc["on"] = pd.to_datetime(alloc.allocated_on)
    projects = books[Kind.PROJECTS].set_index("number")
    funds = books[Kind.FUNDS].set_index("number")
    spent = net.reindex(projects.index, fill_value=0)
    allocated = alloc.groupby("project").fen.sum().reindex(projects.index, fill_value=0)
    first = alloc.groupby("project").on.min().reindex(projects.index)
    unfinished = ~projects.status.isin(FINISHED)
    paid_any = pay.project.value_counts().reindex(projects.index, fill_value=0) > 0
    found: set[tuple[str, str]] = set()
    found |= {("over_budget", p) for p in projects.index[spent > fen(projects.budget)]}
    found |= {("over_allocation", p) for p in projects.index[spent > allocated]}
    stalled = unfinished & ~paid_any & (day - first > pd.Timedelta(days=IDLE_DAYS))
    found |= {("stalled_project", p) for p in projects.index[stalled]}
    overdue = unfinished & (pd.to_datetime(projects.end_on) < day)
    found |= {("project_overdue", p) for p in projects.index[overdue]}
    given = alloc.groupby("fund").fen.sum().reindex(funds.index, fill_value=0)
    amount = fen(funds.amount)
    found |= {("fund_overcommitted", f) for f in funds.index[given > amount]}
    old = day - pd.to_datetime(funds.received_on) > pd.Timedelta(days=IDLE_DAYS)
    found |= {("idle_funds", f) for f in funds.index[old & (given < amount)]}
    return found
