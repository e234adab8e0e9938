"""The annual survey (年度信息采集) of a household, entered or corrected by hand.

A form hands in text as typed; the values go through the importer's rules for a survey row.
The survey table has no version column: a correction names what the form showed, and a
survey changed meanwhile is refused with what is stored now (StaleVersion).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from tuopin.domain.errors import Message, NotFound, StaleVersion, ValidationFailed
from tuopin.i18n import N_
from tuopin.io.cells import as_text
from tuopin.io.schema import Kind, field_names
from tuopin.services import audit, records
from tuopin.services.access.policy import Action, changes, reads
from tuopin.services.access.principal import Principal
from tuopin.services.registry.registration import checked_rows
from tuopin.storage.models import SurveyRecord

SURVEY_CHANGED = N_("The survey of {year} of household {number} was changed by someone else "
                    "since you read it; read it again.")
SURVEY_FIELDS = [n for n in field_names(Kind.SURVEYS) if n not in ("household_number", "year")]


def _text(value: Any) -> str | None:
    return None if value is None else as_text(value)


def _row(record: SurveyRecord) -> dict[str, Any]:
    return {n: getattr(record, n) for n in SURVEY_FIELDS}


NEW = "new"  # the tag of a survey not entered yet


def tag_of(values: Mapping[str, Any] | None) -> str:
    """A survey's version tag (it has no version column): a hash of its stored values."""
    if values is None:
        return NEW
    text = audit.canonical_json({n: values.get(n) for n in SURVEY_FIELDS}) or ""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]

@reads()
def stored_survey(db: Session, *, principal: Principal, number: str,
                  year: int) -> dict[str, Any]:
    """The survey of ``year`` as stored (NotFound if none): whoever reads the household
    reads its surveys."""
    record = records.household(db, principal=principal, number=number)
    stored = next((s for s in record.surveys if s.year == year), None)
    if stored is None:
        raise NotFound(f"household {number} has no survey of {year}")
    return _row(stored)


@reads(Action.EDIT_REGISTRY)
def survey(db: Session, *, principal: Principal, number: str, year: int) -> dict[str, Any]:
    """The survey of ``year`` (None if not entered yet) and the household's living members."""
    record = records.household(db, principal=principal, number=number)
    stored = next((s for s in record.surveys if s.year == year), None)
    living = sum(1 for m in record.members if m.deceased_date is None)
    return {"survey": None if stored is None else _row(stored),
            "living_members": living}


@changes(Action.EDIT_REGISTRY)
def enter_survey(
    db: Session, *, principal: Principal, number: str, year: int,
    values: Mapping[str, str | None], seen: Mapping[str, str] | None, today: date,
) -> dict[str, Any]:
    """Enter or correct the survey of ``year``, unless it changed since the form showed it.

    The survey table has no version column: ``seen`` (the values the form was opened with,
    as text; all empty for a survey not entered yet) is compared with what is stored, and a
    difference is refused as StaleVersion carrying the stored values. ``None`` skips this.
    """
    record = records.household(db, principal=principal, number=number, lock=True)
    stored = next((s for s in record.surveys if s.year == year), None)
    before = None if stored is None else _row(stored)
    now = {n: _text(before[n]) if before else None for n in SURVEY_FIELDS}
    if seen is not None and any((now[n] or "") != (seen.get(n) or "") for n in SURVEY_FIELDS):
        raise StaleVersion(f"the survey of {year} of household {number} changed meanwhile",
                           before or dict.fromkeys(SURVEY_FIELDS))
    ([checked], problems) = checked_rows(
        Kind.SURVEYS, [{**values, "household_number": number, "year": str(year)}], [1], today)
    if problems:
        raise ValidationFailed(f"{len(problems)} problems", problems)
    if stored is None:
        stored = SurveyRecord(household=record, year=year)
        db.add(stored)
    for name in SURVEY_FIELDS:
        setattr(stored, name, checked[name])
    records.flush(db, what=N_("The survey"))
    after = _row(stored)
    if after != before:
        audit.record(db, actor=principal.actor, action="add" if before is None else "edit",
                     entity="survey", entity_id=f"{number}/{year}", before=before, after=after)
    return {"number": number, "year": year, **after}


@changes(Action.EDIT_REGISTRY)
def enter_survey_tagged(
    db: Session, *, principal: Principal, number: str, year: int,
    values: Mapping[str, str | None], tag: str, today: date,
) -> dict[str, Any]:
    """``enter_survey`` for a program that read the survey's tag (``tag_of``; ``NEW`` for
    one not entered yet): a survey changed since is refused with what is stored now."""
    record = records.household(db, principal=principal, number=number, lock=True)
    stored = next((s for s in record.surveys if s.year == year), None)
    before = None if stored is None else _row(stored)
    if tag != tag_of(before):
        raise StaleVersion(Message(SURVEY_CHANGED, year=year, number=number),
                           before or dict.fromkeys(SURVEY_FIELDS))
    return enter_survey(db, principal=principal, number=number, year=year, values=values,
                        seen=None, today=today)
