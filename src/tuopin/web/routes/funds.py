"""The funds pages: a region's balances, a project with its payments, the anomaly list (also
a download), a project's public notice, and revealing a payment's account or payee number.

Amounts arrive as integer fen and are shown with the ``yuan`` filter; downloads write them
as text. What each user may see is the services' business (their region, their role).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from tuopin.domain import fund_rules
from tuopin.domain.errors import NotFound
from tuopin.i18n import N_, normalize_lang, translate
from tuopin.io.writers import write_table
from tuopin.services.access import policy
from tuopin.services.access.policy import Action
from tuopin.services.funds import books, checks, pages
from tuopin.services.registry import lookup
from tuopin.web.deps import LangDep, PrincipalDep, SessionDep, StateDep, TodayDep

router = APIRouter(prefix="/funds")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
ANOMALY_COLUMNS = {"rule": N_("Rule"), "severity": N_("Severity"), "subject": N_("Subject"),
                   "subject_kind": N_("Subject kind"), "amount": N_("Amount (yuan)"),
                   "explanation": N_("Explanation"), "related": N_("Related records")}
SEVERITIES = {"high": N_("high"), "medium": N_("medium"), "low": N_("low")}
KINDS = {"disbursement": N_("payment"), "project": N_("project"), "fund": N_("fund")}


def _download(write: Callable[[Path], object], name: str, fmt: str) -> Response:
    """The file ``write`` makes at a path ending in ``.fmt`` (xlsx or csv), as a download."""
    if fmt not in ("xlsx", "csv"):
        raise NotFound(f"no {fmt} format")
    with tempfile.TemporaryDirectory(prefix="tuopin-funds-") as folder:
        path = Path(folder) / f"{name}.{fmt}"
        write(path)
        body = path.read_bytes()
    return Response(body, media_type=XLSX if fmt == "xlsx" else CSV, headers={
        "Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


@router.get("")
def region_books(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
                 region: Annotated[str | None, Query(max_length=12)] = None) -> Response:
    """The balances of the funds and projects of the user's region (or a region in it)."""
    code = lookup.region_code(principal=principal, code=region) if region else None
    found = books.balances(db, principal=principal, region=code)
    return state.templates.TemplateResponse(request, "funds.html", {
        "region": code or principal.scope.region_code, "balances": found,
        "totals": found.totals, "may_check": policy.allows(principal, Action.CHECK_FUNDS)})


@router.get("/projects/{number}")
def project_page(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
                 number: str) -> Response:
    """A project: its balance, the funds that pay for it, and every payment."""
    shown = books.show(db, principal=principal, project=number)
    return state.templates.TemplateResponse(request, "project.html", {
        **shown, "may_reveal": policy.allows(principal, Action.REVEAL),
        "may_disclose": policy.allows(principal, Action.DISCLOSE_FUNDS)})


@router.post("/payments/{number}/reveal")
def reveal(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
           number: str, field: Annotated[str, Form(max_length=32)]) -> Response:
    value = pages.reveal_payment(db, principal=principal, number=number, field=field,
                                 quota=state.reveals)
    htmx = request.headers.get("hx-request") == "true"
    return state.templates.TemplateResponse(request, "_revealed.html" if htmx
                                            else "revealed.html",
                                            {"value": value, "number": number,
                                             "back": "/funds"})


@router.get("/projects/{number}/disclosure")
def disclosure(db: SessionDep, state: StateDep, principal: PrincipalDep, lang: LangDep,
               number: str,
               format: Annotated[str, Query(max_length=8)] = "xlsx",
               notice_lang: Annotated[str | None, Query(alias="lang", max_length=8)] = None
               ) -> Response:
    """The list of a project's payments for the village to post (公示), as XLSX or CSV."""
    found = books.disclosure(db, principal=principal, project=number,
                             lang=normalize_lang(notice_lang or lang),
                             notice_days=state.settings.funds_notice_days)
    return _download(lambda path: books.write_disclosure(found, path),
                     f"disclosure-{found.project}", format)


def _anomaly_rows(found: list[checks.Finding], lang: str) -> list[dict[str, Any]]:
    titles = {rule.id: rule.title.get(lang) for rule in fund_rules.load().rules}
    return [{**f.as_row(lang), "rule_title": titles.get(f.rule, f.rule),
             "severity_title": translate(SEVERITIES[f.severity.value], lang),
             "kind_title": translate(KINDS[f.subject_kind.value], lang)} for f in found]


@router.get("/anomalies")
def anomalies(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
              today: TodayDep, lang: LangDep, as_of: date | None = None,
              format: Annotated[str | None, Query(max_length=8)] = None) -> Response:
    """The fund anomalies in the user's region on a day (default today), or their XLSX."""
    day = min(as_of or today, today)
    found = state.figures.get(
        ("fund-anomalies", principal.scope.region_code, principal.sees_identifiers, day),
        lambda: checks.check(db.get_bind(), principal=principal, as_of=day))
    rows = _anomaly_rows(found, lang)
    if format:
        table = pa.table({
            "rule": [r["rule_title"] for r in rows],
            "severity": [r["severity_title"] for r in rows],
            "subject": [r["subject"] for r in rows],
            "subject_kind": [r["kind_title"] for r in rows],
            "amount": [r["amount"] for r in rows],
            "explanation": [r["explanation"] for r in rows],
            "related": ["; ".join(r["related"]) for r in rows],
        }, schema=pa.schema([(name, pa.string()) for name in ANOMALY_COLUMNS]))
        titles = {name: translate(title, lang) for name, title in ANOMALY_COLUMNS.items()}
        return _download(lambda path: write_table(table, path, headers=titles),
                         f"fund-anomalies-{day.isoformat()}", format)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["rule_title"]] = counts.get(r["rule_title"], 0) + 1
    return state.templates.TemplateResponse(request, "fund_anomalies.html", {
        "rows": rows, "as_of": day, "counts": counts})
