"""The changes feed: households, members and surveys changed since a point of the audit trail.

Every change of the registry appends one audit event in its own transaction, and the
events' ids are handed out in commit order (an append locks the chain's head until the
transaction ends), so "the events after id N" is a gap-free cursor. The feed reads the
events after the caller's cursor and turns each into entries about the records it touched,
with each record *as it is now* in the API's shape (the audit payloads are old states, of
every field, unmasked: they are never handed out). Applying the entries in order - an
``add`` or ``edit`` puts ``data`` under (entity, id), a ``remove`` drops it - keeps an
exact copy: a record that changes later is named again by a later event.

- A household's event touches the household; when it is a registration, or the household
  moved to another village, it touches its members and surveys too (they move with it).
- The caller's scope applies to each entry: a record in scope now comes with its data; a
  record out of scope now that the event shows in the caller's region (it moved away) is a
  ``remove``; any other entry is left out - a village cadre's feed names nothing of another
  village.
- An import writes one event for a whole file (its kind and the file's SHA-256), not one
  per record: it becomes one ``reload`` entry of that kind, telling the consumer to drop
  what it holds of the kind and read it again (GET /export/{kind}, or the lists). The
  books of funds (funds, projects, disbursements) change only by imports: they are in the
  feed as reloads alone.
- The answer's ``last`` is the last event read - or the chain's head, when fewer than
  ``limit`` events were left - whether or not any entry was visible to the caller, so the
  feed never stalls on events of others.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from tuopin.services.access.masking import for_principal
from tuopin.services.access.policy import Action, reads
from tuopin.services.access.principal import Principal
from tuopin.services.registry.listing import HOUSEHOLD_FIELDS, MEMBER_FIELDS
from tuopin.services.registry.surveys import SURVEY_FIELDS, tag_of
from tuopin.storage.models import (
    AuditEventRecord,
    AuditHeadRecord,
    HouseholdRecord,
    MemberRecord,
    SurveyRecord,
)

H, M, S, E = HouseholdRecord, MemberRecord, SurveyRecord, AuditEventRecord
ENTITIES = ("household", "member", "survey")
# an import's event names its kind (services/imports/files.py); the books of funds change
# only by imports, so their kinds are in the feed as reloads alone
RELOADS = {"households": "household", "members": "member", "surveys": "survey",
           "funds": "fund", "projects": "project", "disbursements": "disbursement"}
# events about a record that leave it as it was; any other event counts as a change (an
# entry too many costs the consumer a write, one too few breaks its copy)
NOT_CHANGES = ("reveal",)


@dataclass(frozen=True)
class Subject:
    """A record an event touched: its feed key and the villages the event shows it in."""

    seq: int
    at: str
    entity: str
    key: str
    added: bool
    villages: frozenset[str] = frozenset()


def _payload(text: str | None) -> dict[str, Any]:
    value = json.loads(text) if text else None
    return value if isinstance(value, dict) else {}


@reads(Action.EXPORT)
def feed(db: Session, *, principal: Principal, after: int = 0,
         limit: int = 100) -> dict[str, Any]:
    """The entries of up to ``limit`` change events after event ``after``: ``items``,
    ``last`` (the cursor to read on from) and ``more`` (whether events may be left)."""
    head = db.scalar(select(AuditHeadRecord.last_id).where(AuditHeadRecord.id == 1)) or 0
    events = db.execute(
        select(E.id, E.at, E.action, E.entity, E.entity_id, E.before, E.after)
        .where(E.id > after, E.id <= head, E.entity.in_((*ENTITIES, *RELOADS)),
               E.action.not_in(NOT_CHANGES))
        .order_by(E.id).limit(limit)).all()
    full = len(events) == limit
    last = events[-1].id if full else max(head, after)
    subjects: list[Subject] = []
    for event in events:
        if event.entity in RELOADS:
            subjects.append(Subject(event.id, event.at, RELOADS[event.entity], "", False))
            continue
        before, now = _payload(event.before), _payload(event.after)
        villages = frozenset(str(p["village_code"]) for p in (before, now)
                             if p.get("village_code"))
        key = event.entity_id or ""
        added = event.action == "add"
        subjects.append(Subject(event.id, event.at, event.entity, key, added, villages))
        if event.entity == "household" and (added or len(villages) > 1):
            subjects.append(Subject(event.id, event.at, "member", f"*{key}", added, villages))
            subjects.append(Subject(event.id, event.at, "survey", f"*{key}", added, villages))
    current = _Current(db, subjects)
    items = [entry for s in subjects for entry in current.entries(principal, s)]
    return {"items": items, "last": last, "more": full}


class _Current:
    """The records the subjects name, as they are now, read in a few queries."""

    def __init__(self, db: Session, subjects: list[Subject]) -> None:
        named = {e: {s.key for s in subjects if s.entity == e} for e in ENTITIES}
        whole = {k[1:] for e in ("member", "survey") for k in named[e] if k.startswith("*")}
        numbers = named["household"] | whole
        self.households = {r["number"]: r for r in _rows(db, select(
            *[getattr(H, f) for f in HOUSEHOLD_FIELDS]).where(H.number.in_(sorted(numbers))))}
        ids = sorted(int(k) for k in named["member"] if k.isdigit())
        member_query = (select(*[getattr(M, f) for f in MEMBER_FIELDS],
                               H.number.label("household_number"),
                               H.village_code.label("_village"))
                        .join(H, H.id == M.household_id).order_by(M.id))
        self.members = {str(r["id"]): r for r in _rows(db, member_query.where(M.id.in_(ids)))}
        self.members_of = _grouped(_rows(db, member_query.where(H.number.in_(sorted(whole)))))
        pairs = [_survey_key(k) for k in named["survey"] if not k.startswith("*")]
        survey_query = (select(H.number.label("household_number"), S.year,
                               *[getattr(S, f) for f in SURVEY_FIELDS],
                               H.village_code.label("_village"))
                        .join(H, H.id == S.household_id).order_by(S.year))
        found = _rows(db, survey_query.where(tuple_(H.number, S.year).in_(pairs))) if pairs \
            else []
        self.surveys = {f"{r['household_number']}/{r['year']}": r for r in found}
        self.surveys_of = _grouped(_rows(db, survey_query.where(H.number.in_(sorted(whole)))))

    def entries(self, principal: Principal, subject: Subject) -> Iterable[dict[str, Any]]:
        if subject.key == "":
            return [_entry(subject, None, "reload", None, None)]
        if subject.key.startswith("*"):  # the members or surveys of a household that moved
            number = subject.key[1:]
            rows = (self.members_of if subject.entity == "member" else self.surveys_of)
            return [e for row in rows.get(number, [])
                    for e in self._entry(principal, subject, _key_of(subject.entity, row),
                                         row)]
        table = {"household": self.households, "member": self.members,
                 "survey": self.surveys}[subject.entity]
        return self._entry(principal, subject, subject.key, table.get(subject.key))

    def _entry(self, principal: Principal, subject: Subject, key: str,
               row: dict[str, Any] | None) -> list[dict[str, Any]]:
        if row is not None:
            village = row.get("_village") or row["village_code"]
            number = row.get("household_number") or row["number"]
            if principal.scope.reaches(village_code=village, number=number):
                data = {k: v for k, v in row.items() if k != "_village"}
                return [_entry(subject, key, "add" if subject.added else "edit",
                               _version(subject.entity, data), for_principal(principal, data))]
        number = _number_of(subject.entity, key, row)
        if any(principal.scope.reaches(village_code=v, number=number)
               for v in subject.villages):
            return [_entry(subject, key, "remove", None, None)]
        return []


def _rows(db: Session, query: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in db.execute(query)]


def _grouped(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(row["household_number"], []).append(row)
    return out


def _survey_key(key: str) -> tuple[str, int]:
    number, _, year = key.rpartition("/")
    return number, int(year) if year.isdigit() else -1


def _key_of(entity: str, row: dict[str, Any]) -> str:
    return str(row["id"]) if entity == "member" else f"{row['household_number']}/{row['year']}"


def _number_of(entity: str, key: str, row: dict[str, Any] | None) -> str:
    if entity == "household":
        return key
    if row is not None:
        return str(row["household_number"])
    return _survey_key(key)[0] if entity == "survey" else ""


def _version(entity: str, data: dict[str, Any]) -> str:
    return tag_of(data) if entity == "survey" else str(data["version"])


def _entry(subject: Subject, key: str | None, change: str, version: str | None,
           data: dict[str, Any] | None) -> dict[str, Any]:
    return {"seq": subject.seq, "at": subject.at, "entity": subject.entity, "id": key,
            "change": change, "version": version, "data": data}
