"""Working lists for the user's region, each also a download: ``?format=xlsx``.

Overdue measures and the 问责清单 (accountability), exit cases by state, monitoring cases.
A helper sees only the rows of their own households and has no accountability list (it
ranks the other helpers).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pyarrow as pa
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from tuopin.domain import enums
from tuopin.domain.enums import ExitState, MonitoringState, Titled
from tuopin.domain.errors import NotFound, ValidationFailed
from tuopin.i18n import N_, translate
from tuopin.io.writers import write_table
from tuopin.services.exits import household_exits as exits
from tuopin.services.monitoring import cases as monitoring
from tuopin.services.plans import accountability
from tuopin.web.deps import LangDep, PrincipalDep, SessionDep, StateDep, TodayDep

router = APIRouter(prefix="/lists")
T = TypeVar("T", bound=Titled)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
StateParam = Annotated[str | None, Query(alias="state", max_length=24)]


@dataclass(frozen=True)
class Column:
    name: str
    title: str  # a catalog msgid
    enum: str | None = None  # an enum of tuopin.domain.enums whose titles to show
    link: bool = False  # a household number: links to its page


HOUSEHOLD = Column("household", N_("Household number"), link=True)
NUMBER = Column("number", N_("Household number"), link=True)
VILLAGE = Column("village_code", N_("Village code"))
OVERDUE = [
    Column("measure", N_("Measure")), HOUSEHOLD, VILLAGE,
    Column("kind", N_("Kind"), "MeasureKind"), Column("content", N_("Content")),
    Column("helper", N_("Helper")), Column("helper_name", N_("Helper's name")),
    Column("unit", N_("Unit")), Column("due_date", N_("Due date")),
    Column("days_overdue", N_("Days overdue")), Column("status", N_("Status"), "MeasureStatus"),
    Column("delay_reason", N_("Reason for delay")), Column("follow_up", N_("Follow-up action")),
]
ACCOUNTABILITY = [
    Column("helper", N_("Helper")), Column("helper_name", N_("Helper's name")),
    Column("unit", N_("Unit")), Column("measures", N_("Overdue measures")),
    Column("total_days_overdue", N_("Total days overdue")),
    Column("max_days_overdue", N_("Most days overdue")),
    Column("without_reason", N_("Without a reason")),
    Column("measure", N_("Measure")), HOUSEHOLD, Column("due_date", N_("Due date")),
    Column("days_overdue", N_("Days overdue")), Column("delay_reason", N_("Reason for delay")),
]
EXITS = [
    NUMBER, VILLAGE, Column("state", N_("Exit state"), "ExitState"),
    Column("opened_on", N_("Opened on")), Column("notice_start", N_("Notice starts")),
    Column("notice_end", N_("Notice ends")), Column("exited_on", N_("Exited on")),
    Column("household_status", N_("Household status"), "HouseholdStatus"),
]
MONITORING = [
    Column("case", N_("Case")), NUMBER, VILLAGE,
    Column("category", N_("Category"), "MonitoringCategory"),
    Column("state", N_("Monitoring state"), "MonitoringState"),
    Column("opened_on", N_("Opened on")), Column("deadline", N_("Deadline")),
    Column("days_late", N_("Days late")),
]


def _cell(column: Column, value: Any, lang: str) -> Any:
    if column.enum is None or value is None or value == "":
        return value
    try:
        return translate(getattr(enums, column.enum).of(str(value)).title, lang)
    except ValueError:
        return value


def _chosen(enum: type[T], value: str | None) -> T | None:
    try:
        return enum.of(value) if value else None
    except ValueError as exc:
        raise ValidationFailed(f"unknown state {value!r}") from exc


def _xlsx(columns: Sequence[Column], rows: list[dict[str, Any]], lang: str,
          name: str) -> Response:
    arrays = {}
    for c in columns:
        values = [_cell(c, r.get(c.name), lang) for r in rows]
        array = pa.array(values)
        arrays[translate(c.title, lang)] = (array if array.type != pa.null()
                                            else pa.array(values, pa.string()))
    with tempfile.TemporaryDirectory(prefix="tuopin-list-") as folder:
        path = Path(folder) / f"{name}.xlsx"
        write_table(pa.table(arrays), path, fmt="xlsx")
        body = path.read_bytes()
    return Response(body, media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{name}.xlsx"'})


def _answer(request: Request, state: StateDep, *, name: str, heading: str,
            columns: Sequence[Column], rows: list[dict[str, Any]], lang: str,
            fmt: str | None, **extra: Any) -> Response:
    if fmt == "xlsx":
        return _xlsx(columns, rows, lang, name)
    if fmt not in (None, "", "html"):
        raise NotFound(f"no {fmt} format")
    shown = [[(c, _cell(c, r.get(c.name), lang)) for c in columns] for r in rows]
    return state.templates.TemplateResponse(request, "list.html", {
        "name": name, "heading": heading, "columns": columns, "rows": shown, **extra})


@router.get("/overdue")
def overdue(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
            today: TodayDep, lang: LangDep, as_of: date | None = None,
            format: str | None = None) -> Response:
    day = as_of or today
    rows = accountability.overdue(db, principal=principal, as_of=day)
    return _answer(request, state, name="overdue", heading=N_("Overdue measures"),
                   columns=OVERDUE, rows=rows, lang=lang, fmt=format, as_of=day)


@router.get("/accountability")
def accountability_list(request: Request, db: SessionDep, state: StateDep,
                        principal: PrincipalDep, today: TodayDep, lang: LangDep,
                        as_of: date | None = None, format: str | None = None) -> Response:
    day = as_of or today
    groups = accountability.accountability(db, principal=principal, as_of=day)
    return _answer(request, state, name="accountability", heading=N_("Accountability list"),
                   columns=ACCOUNTABILITY, rows=accountability.flat(groups), lang=lang,
                   fmt=format, as_of=day)


@router.get("/exits")
def exit_cases(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
               lang: LangDep, state_: StateParam = None, format: str | None = None) -> Response:
    chosen = _chosen(ExitState, state_)
    rows = exits.list_cases(db, principal=principal, state=chosen)
    return _answer(request, state, name="exits", heading=N_("Exit cases"), columns=EXITS,
                   rows=rows, lang=lang, fmt=format,
                   states=[s.value for s in ExitState], chosen=state_ or "")


@router.get("/monitoring")
def monitoring_cases(request: Request, db: SessionDep, state: StateDep,
                     principal: PrincipalDep,
                     today: TodayDep, lang: LangDep, state_: StateParam = None,
                     late: bool = False, format: str | None = None) -> Response:
    chosen = _chosen(MonitoringState, state_)
    rows = monitoring.list_cases(db, principal=principal, as_of=today, late_only=late,
                                 state=chosen)
    return _answer(request, state, name="monitoring", heading=N_("Monitoring cases"),
                   columns=MONITORING, rows=rows, lang=lang, fmt=format,
                   states=[s.value for s in MonitoringState], chosen=state_ or "")
