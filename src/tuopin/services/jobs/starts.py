"""Asking for long work: each request is checked now (so a mistake is answered at once, not
by a failed job later) and queued for `tuopin worker`."""

from __future__ import annotations

import time
from datetime import date

from sqlalchemy.orm import Session

from tuopin.domain.enums import JobKind
from tuopin.domain.errors import NotFound, RuleBroken
from tuopin.i18n import N_
from tuopin.services import records
from tuopin.services.access.policy import Action, changes
from tuopin.services.access.principal import Principal
from tuopin.services.jobs import queue
from tuopin.services.jobs.queue import Clock

UNKNOWN_STANDARD = N_("There is no standard named {name}.")
YEAR_OUTSIDE = N_("The standard {name} applies to the years {first} to {last}.")
AFTER_TODAY = N_("The day {day} is after today.")
RUN_NEEDED = N_("Name the assessment run whose results to export.")


@changes(Action.ASSESS)
def start_assessment(db: Session, *, principal: Principal, standard: str, year: int,
                     engine: str = "auto", clock: Clock = time.time) -> str:
    """Queue an assessment run of ``year`` against a shipped standard; returns the job."""
    from tuopin.standards.loader import load, shipped

    if standard not in shipped():
        raise RuleBroken(UNKNOWN_STANDARD, name=standard)
    first, last = load(standard).years
    if not first <= year <= last:
        raise RuleBroken(YEAR_OUTSIDE, name=standard, first=first, last=last)
    return queue.start(db, principal=principal, kind=JobKind.ASSESS,
                       args={"standard": standard, "year": year, "engine": engine},
                       clock=clock)


@changes(Action.EXPORT)
def start_export(db: Session, *, principal: Principal, kind: str, fmt: str = "csv",
                 region: str | None = None, run: int | None = None,
                 clock: Clock = time.time) -> str:
    """Queue an export of a whole kind of records (the API's, as a file to download)."""
    from tuopin.services.exchange.export import ExportFormat, ExportKind, open_export

    try:
        chosen, form = ExportKind(kind), ExportFormat(fmt)
    except ValueError as exc:
        raise NotFound(f"no export {kind}.{fmt}") from exc
    region = records.region_filter(principal, region)
    if chosen is ExportKind.RESULTS and run is None:
        raise RuleBroken(RUN_NEEDED)
    # what the export will check (the run, the region), checked now: no row is read yet
    open_export(db, principal=principal, kind=chosen, fmt=form, region=region, run=run,
                audited=False)  # audited when the job reads the rows
    return queue.start(db, principal=principal, kind=JobKind.EXPORT, clock=clock, args={
        "kind": chosen.value, "format": form.value, "region": region, "run": run})


@changes(Action.CHECK_FUNDS)
def start_funds_check(db: Session, *, principal: Principal, as_of: date, today: date,
                      lang: str = "zh", clock: Clock = time.time) -> str:
    """Queue the anomaly rules over the books of funds as they stood on ``as_of``."""
    if as_of > today:
        raise RuleBroken(AFTER_TODAY, day=as_of.isoformat())
    return queue.start(db, principal=principal, kind=JobKind.FUNDS_CHECK, clock=clock,
                       args={"as_of": as_of.isoformat(), "lang": lang})
