"""The registration forms: a new household with its members, one member, a year's survey.

Their fields are the importer's (io/schema.py), so titles, choices and what is required are
declared once. Forms that change a stored record keep what they showed when opened (hidden
``seen.*`` fields): a save refused because someone else saved first says what changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from starlette.datastructures import FormData

from tuopin.i18n import N_
from tuopin.io.cells import as_text
from tuopin.io.problems import Problem
from tuopin.io.schema import FieldType, Kind, fields
from tuopin.services.access.masking import MASKS
from tuopin.web.forms import FormField

WIDGETS = {FieldType.ENUM: "select", FieldType.ENUM_LIST: "multi", FieldType.BOOLEAN: "select",
           FieldType.INTEGER: "number", FieldType.DECIMAL: "decimal", FieldType.PHONE: "tel",
           FieldType.DATE: "date"}
YES_NO = (("1", N_("yes")), ("0", N_("no")))
MEMBER_SENSITIVE = ("id_number", "phone")
BLANK_ROWS = 4
MAX_ROWS = 30  # services.registration.MAX_MEMBERS


def _field(spec: Any, sensitive: tuple[str, ...] = ()) -> FormField:
    if spec.type is FieldType.BOOLEAN:
        options: tuple[tuple[str, str], ...] = YES_NO
    else:
        options = tuple((m.value, m.title) for m in spec.enum) if spec.enum else ()
    return FormField(spec.name, spec.title, WIDGETS.get(spec.type, "text"), spec.required,
                     options, spec.name in sensitive)


@lru_cache(maxsize=1)
def new_household_fields() -> tuple[FormField, ...]:
    """The household's own fields (the village is chosen apart; the number may be left out)."""
    return tuple(replace(_field(f), required=False) if f.name == "number" else _field(f)
                 for f in fields(Kind.HOUSEHOLDS) if f.name != "village_code")


@lru_cache(maxsize=1)
def member_fields() -> tuple[FormField, ...]:
    return tuple(_field(f, MEMBER_SENSITIVE) for f in fields(Kind.MEMBERS)
                 if f.name != "household_number")


@lru_cache(maxsize=1)
def member_row_fields() -> tuple[FormField, ...]:
    """A member row of a new household: everything but a date of death."""
    return tuple(replace(f, sensitive=False) for f in member_fields()
                 if f.name != "deceased_date")


@lru_cache(maxsize=1)
def survey_fields() -> tuple[FormField, ...]:
    return tuple(_field(f) for f in fields(Kind.SURVEYS)
                 if f.name not in ("household_number", "year"))


def _typed(form: FormData, name: str) -> str:
    """One field as posted (a multiple choice joined by ';', as the importer reads it)."""
    return ";".join(v for v in (str(x).strip() for x in form.getlist(name)) if v)


def _split(problems: list[Problem], names: set[str], message: str,
           lang: str) -> tuple[dict[str, str], list[str]]:
    """Each problem next to its field; the others (and the message, if nothing else) on top."""
    errors: dict[str, str] = {}
    for p in problems:
        if p.column in names:
            errors.setdefault(p.column, p.message(lang))
    general = [p.message(lang) for p in problems if p.column not in names]
    return errors, general or ([] if errors else [message])


def _changes(specs: tuple[FormField, ...], seen: dict[str, str], now: dict[str, str],
             typed: dict[str, str]) -> list[dict[str, Any]]:
    """The fields whose stored value is no longer the one shown (with choices' titles)."""
    return [{"name": f.name, "title": f.title, "seen": seen.get(f.name, ""),
             "now": now.get(f.name, ""), "typed": typed.get(f.name, ""),
             "options": dict(f.options)}
            for f in specs if now.get(f.name, "") != seen.get(f.name, "")]


@dataclass(frozen=True)
class HouseholdNew:
    """A new household and its member rows (blank rows are left out when saving)."""

    villages: list[dict[str, str]]
    village: str
    next_number: str | None
    values: dict[str, str]
    members: list[dict[str, str]]
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    template: str = "household_new.html"
    conflict_template: str = "household_new.html"

    @property
    def fields(self) -> tuple[FormField, ...]:
        return new_household_fields()

    @property
    def member_fields(self) -> tuple[FormField, ...]:
        return member_row_fields()

    @classmethod
    def blank(cls, defaults: dict[str, Any]) -> HouseholdNew:
        members: list[dict[str, str]] = [{} for _ in range(BLANK_ROWS)]
        members[0] = {"relation": "head"}
        return cls(defaults["villages"], defaults["village"] or "", defaults["next_number"],
                   {"status": "poor"}, members)

    @classmethod
    def from_post(cls, form: FormData, villages: list[dict[str, str]]) -> HouseholdNew:
        rows = str(form.get("rows", ""))
        count = min(int(rows), MAX_ROWS) if rows.isdigit() else BLANK_ROWS
        members = [{f.name: _typed(form, f"members.{i}.{f.name}") for f in member_row_fields()}
                   for i in range(count)]
        return cls(villages, _typed(form, "village_code"), None,
                   {f.name: _typed(form, f.name) for f in new_household_fields()}, members)

    def with_another_row(self) -> HouseholdNew:
        """The same form, as typed, with one more blank member row."""
        return replace(self, members=[*self.members, {}][:MAX_ROWS])

    def household(self) -> dict[str, str | None]:
        return {**{k: v or None for k, v in self.values.items()},
                "village_code": self.village or None}

    def member_rows(self) -> list[dict[str, str | None]]:
        return [{k: v or None for k, v in row.items()} for row in self.members]

    def with_problems(self, problems: list[Problem], message: str, lang: str) -> HouseholdNew:
        names = {f.name for f in new_household_fields()} | {"village_code"} | {
            f"members.{i}.{f.name}" for i in range(len(self.members))
            for f in member_row_fields()}
        errors, general = _split(problems, names, message, lang)
        return replace(self, errors=errors, general=general)

    def conflict(self, current: dict[str, Any]) -> HouseholdNew:
        return self  # a new household has nothing that another person could have changed


@dataclass(frozen=True)
class MemberForm:
    """A new member of a household, or the correction of one (``member_id`` and version)."""

    number: str
    member_id: int | None
    version: int
    values: dict[str, str]
    seen: dict[str, str]
    clear: bool  # the user sees full numbers (else an edit starts with them empty)
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    template: str = "member_form.html"
    conflict_template: str = "record_conflict.html"
    kind: str = "member"

    @property
    def fields(self) -> tuple[FormField, ...]:
        return member_fields() if self.member_id is not None else member_row_fields()

    @property
    def action(self) -> str:
        if self.member_id is None:
            return f"/households/{self.number}/members/new"
        return f"/households/{self.number}/members/{self.member_id}/edit"

    @classmethod
    def blank(cls, number: str) -> MemberForm:
        return cls(number, None, 0, {}, {}, clear=True)

    @classmethod
    def load(cls, number: str, member: dict[str, Any], *, clear: bool) -> MemberForm:
        seen = {f.name: cls._shown(f, member.get(f.name), clear) for f in member_fields()}
        values = {k: ("" if k in MEMBER_SENSITIVE and not clear else v)
                  for k, v in seen.items()}
        return cls(number, int(member["id"]), int(member["version"]), values, seen, clear)

    @classmethod
    def from_post(cls, number: str, member_id: int | None, form: FormData, *,
                  clear: bool) -> MemberForm:
        specs = member_fields() if member_id is not None else member_row_fields()
        values = {f.name: _typed(form, f.name) for f in specs}
        seen = {f.name: str(form.get(f"seen.{f.name}", "")) for f in specs}
        version = str(form.get("version", ""))
        return cls(number, member_id, int(version) if version.isdigit() else 0, values, seen,
                   clear or member_id is None)

    @staticmethod
    def _shown(spec: FormField, value: Any, clear: bool) -> str:
        text = as_text(value)
        return MASKS[spec.name](text) if spec.sensitive and text and not clear else text

    def changes_to_save(self) -> dict[str, str | None]:
        """What the service gets: empty means "none", except a masked number left empty."""
        return {name: value or None for name, value in self.values.items()
                if not (name in MEMBER_SENSITIVE and not self.clear and not value)}

    def with_problems(self, problems: list[Problem], message: str, lang: str) -> MemberForm:
        errors, general = _split(problems, {f.name for f in self.fields}, message, lang)
        return replace(self, errors=errors, general=general)

    def conflict(self, current: dict[str, Any]) -> MemberForm:
        now = {f.name: self._shown(f, current.get(f.name), self.clear) for f in self.fields}
        return replace(self, changes=_changes(self.fields, self.seen, now, self.values))


@dataclass(frozen=True)
class SurveyForm:
    """The survey of one year: entered for the first time or corrected."""

    number: str
    year: int
    existed: bool
    values: dict[str, str]
    seen: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    template: str = "survey_form.html"
    conflict_template: str = "record_conflict.html"
    kind: str = "survey"

    @property
    def fields(self) -> tuple[FormField, ...]:
        return survey_fields()

    @property
    def action(self) -> str:
        return f"/households/{self.number}/surveys/{self.year}"

    @classmethod
    def load(cls, number: str, year: int, found: dict[str, Any]) -> SurveyForm:
        stored = found["survey"]
        seen = {f.name: as_text(stored.get(f.name)) if stored else "" for f in survey_fields()}
        values = dict(seen) if stored else {"household_size": str(found["living_members"] or "")}
        return cls(number, year, stored is not None, values, seen)

    @classmethod
    def from_post(cls, number: str, year: int, form: FormData) -> SurveyForm:
        values = {f.name: _typed(form, f.name) for f in survey_fields()}
        seen = {f.name: str(form.get(f"seen.{f.name}", "")) for f in survey_fields()}
        return cls(number, year, form.get("existed") == "1", values, seen)

    def to_save(self) -> dict[str, str | None]:
        return {name: value or None for name, value in self.values.items()}

    def with_problems(self, problems: list[Problem], message: str, lang: str) -> SurveyForm:
        errors, general = _split(problems, {f.name for f in survey_fields()}, message, lang)
        return replace(self, errors=errors, general=general)

    def conflict(self, current: dict[str, Any]) -> SurveyForm:
        now = {f.name: as_text(current.get(f.name)) for f in survey_fields()}
        return replace(self, changes=_changes(survey_fields(), self.seen, now, self.values))
