"""The verification forms: one household's finding (on a phone), and a new plan.

The finding form's fields are the findings importer's (services.verification.findings
.FIELDS), grouped as a verifier works through a visit: the visit, the household's own
measurement (the annual survey's fields), then the judgement and the household's approval.
It keeps what it showed when opened (hidden ``seen.*`` fields) and the finding's version, so
that a save refused because someone else saved first says what changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from typing import Any

from starlette.datastructures import FormData

from tuopin.domain import regions
from tuopin.domain.enums import RegionLevel
from tuopin.domain.errors import ValidationFailed
from tuopin.domain.verification import ERROR_OF_FRAME, Frame, Judgement, VerificationKind
from tuopin.i18n import N_
from tuopin.io.cells import as_text
from tuopin.io.problems import Problem
from tuopin.io.schema import Field, FieldType
from tuopin.services.verification.findings import FIELDS, MEASURED
from tuopin.web.forms import FormField

YES_NO = (("1", N_("yes")), ("0", N_("no")))
WIDGETS = {FieldType.BOOLEAN: "yesno", FieldType.ENUM: "choice", FieldType.INTEGER: "number",
           FieldType.DECIMAL: "decimal", FieldType.DATE: "date"}
# the form's sections: a title (msgid) and the fields in it
SECTIONS = (
    (N_("The visit"), ("visited", "not_visited_reason", "visited_on")),
    (N_("Household and income (yuan a year)"),
     ("household_size", "wage_income", "production_income", "property_income",
      "transfer_income", "production_costs", "medical_expenses")),
    (N_("Food, clothing, schooling, medical care, housing"),
     ("food_secure", "clothing_secure", "schooling_secure", "medical_secure",
      "housing_grade")),
    (N_("Drinking water"),
     ("water_quantity_lpd", "water_piped", "water_trip_minutes", "water_outage_days",
      "water_quality_ok", "water_scarce_area")),
    (N_("Judgement and approval"), ("judgement", "approval", "note")),
)
# what only a visited household has (the form hides it when "not visited" is chosen)
VISIT_ONLY = ("visited_on", *MEASURED, "judgement", "approval")


def _form_field(spec: Field) -> FormField:
    if spec.type is FieldType.BOOLEAN:
        options: tuple[tuple[str, str], ...] = YES_NO
    else:
        options = tuple((m.value, m.title) for m in spec.enum) if spec.enum else ()
    widget = "textarea" if spec.name == "note" else WIDGETS.get(spec.type, "text")
    return FormField(spec.name, spec.title, widget, spec.required, options)


@lru_cache(maxsize=1)
def finding_fields() -> dict[str, FormField]:
    """Every field of a finding but the household number (the page names the household)."""
    return {spec.name: _form_field(spec) for spec in FIELDS if spec.name != "household_number"}


def judgements(frame: str) -> tuple[tuple[str, str], ...]:
    """The judgements a household drawn in ``frame`` may get: correct, or its frame's error."""
    error = ERROR_OF_FRAME.get(Frame.of(frame))
    return tuple((j.value, j.title) for j in Judgement
                 if j is Judgement.CORRECT or j is error)


def _typed(form: FormData, name: str) -> str:
    return str(form.get(name, "") or "").strip()


def _split(problems: list[Problem], names: set[str], message: str,
           lang: str) -> tuple[dict[str, str], list[str]]:
    """Each problem next to its field; the others (and the message, if nothing else) on top."""
    errors: dict[str, str] = {}
    by_header = {spec.header(lang).lower(): spec.name for spec in FIELDS}
    by_header.update({spec.title.lower(): spec.name for spec in FIELDS})
    general = []
    for p in problems:
        name = p.column if p.column in names else by_header.get(str(p.column).lower())
        if name in names:
            errors.setdefault(name, p.message(lang))
        else:
            general.append(p.message(lang))
    return errors, general or ([] if errors else [message])


@dataclass(frozen=True)
class FindingForm:
    """One household's finding: recorded for the first time (version 0) or corrected."""

    plan: int
    number: str
    frame: str
    household: dict[str, Any]  # what finds the household: head, address, village, status
    version: int
    values: dict[str, str]
    seen: dict[str, str]
    editable: bool = True
    closed: bool = False
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    visit_only: tuple[str, ...] = VISIT_ONLY
    template: str = "verification_finding.html"
    conflict_template: str = "verification_conflict.html"

    @property
    def action(self) -> str:
        return f"/verification/{self.plan}/households/{self.number}"

    @property
    def back(self) -> str:
        return f"/verification/{self.plan}/villages/{self.household['village_code']}"

    @property
    def sections(self) -> list[tuple[str, list[FormField]]]:
        specs = finding_fields()
        found = []
        for title, names in SECTIONS:
            shown = [replace(specs[n], options=judgements(self.frame)) if n == "judgement"
                     else specs[n] for n in names]
            found.append((title, shown))
        return found

    @property
    def recorded(self) -> bool:
        return self.version > 0

    @property
    def frame_title(self) -> str:
        return Frame.of(self.frame).title

    @classmethod
    def load(cls, row: dict[str, Any], *, editable: bool, today: date,
             closed: bool = False) -> FindingForm:
        """The form of a household drawn (``row``: its sample row, finding and context)."""
        version = int(row.get("finding_version") or 0)
        seen = {name: as_text(row.get(name)) if version else "" for name in finding_fields()}
        values = dict(seen) if version else {"visited_on": today.isoformat()}
        if not version and len(judgements(row["frame"])) == 1:
            values["judgement"] = Judgement.CORRECT.value  # the only one its frame allows
        return cls(int(row["plan_id"]), row["household_number"], row["frame"], row, version,
                   values, seen, editable, closed)

    def posted(self, form: FormData) -> FindingForm:
        """The same household's form as posted (what a hidden field held is dropped: a
        household not visited has nothing else)."""
        values = {name: _typed(form, name) for name in finding_fields()}
        if values["visited"] == "0":
            values.update(dict.fromkeys(VISIT_ONLY, ""))
        elif values["visited"] == "1":
            values["not_visited_reason"] = ""
        seen = {name: str(form.get(f"seen.{name}", "")) for name in finding_fields()}
        version = str(form.get("version", ""))
        return replace(self, values=values, seen=seen,
                       version=int(version) if version.isdigit() else 0)

    def to_save(self) -> dict[str, str | None]:
        return {name: value or None for name, value in self.values.items()}

    def with_problems(self, problems: list[Problem], message: str, lang: str) -> FindingForm:
        errors, general = _split(problems, set(finding_fields()), message, lang)
        return replace(self, errors=errors, general=general)

    def conflict(self, current: dict[str, Any]) -> FindingForm:
        """The fields whose saved value is no longer the one the form showed."""
        changes = []
        for name, spec in finding_fields().items():
            now = as_text(current.get(name))
            if now != self.seen.get(name, ""):
                options = dict(judgements(self.frame) if name == "judgement" else spec.options)
                changes.append({"name": name, "title": spec.title,
                                "seen": self.seen.get(name, ""), "now": now,
                                "typed": self.values.get(name, ""), "options": options})
        return replace(self, changes=changes)


NOT_WHOLE = N_("Not a whole number.")
NOT_NUMBER = N_("Not a number.")
PLAN_FIELDS = ("region", "year", "kind", "seed", "margin", "confidence", "deff", "villages")


@dataclass(frozen=True)
class PlanForm:
    """A new verification plan: the county, the year, the kind, the seed and the design's
    parameters (empty: the kind's defaults)."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    template: str = "verification_new.html"
    conflict_template: str = "verification_new.html"

    @property
    def kinds(self) -> list[tuple[str, str]]:
        return [(k.value, k.title) for k in VerificationKind]

    def kind(self) -> VerificationKind:
        """The kind chosen (a value that is none: a problem of its field)."""
        try:
            return VerificationKind.of(self.values.get("kind", ""))
        except ValueError:
            raise ValidationFailed("kind", [Problem(1, "kind", self.values.get("kind", ""),
                                                    "Not one of the allowed values: "
                                                    "{allowed}.", {"allowed": ", ".join(
                                                        VerificationKind)})]) from None

    @classmethod
    def blank(cls, region: str | None, today: date) -> PlanForm:
        county = region and regions.level_of(region) is RegionLevel.COUNTY
        return cls({"region": region[:6] if region and county else "",
                    "year": str(today.year - 1), "kind": VerificationKind.THIRD_PARTY.value})

    @classmethod
    def from_post(cls, form: FormData) -> PlanForm:
        return cls({name: _typed(form, name) for name in PLAN_FIELDS})

    def numbers(self) -> dict[str, Any]:
        """The typed values as the service takes them; a value that is no number (or a
        missing year or seed) is a problem of its field."""
        found: dict[str, Any] = {}
        problems = []
        for name, kind in (("year", int), ("seed", int), ("villages", int),
                           ("margin", float), ("confidence", float), ("deff", float)):
            text = self.values.get(name, "")
            if not text:
                if name in ("year", "seed"):
                    problems.append(Problem(1, name, text, "A value is required."))
                continue
            try:
                found[name] = kind(text)
            except ValueError:
                problems.append(Problem(1, name, text, NOT_WHOLE if kind is int
                                        else NOT_NUMBER))
        if problems:
            raise ValidationFailed(f"{len(problems)} problems", problems)
        return found

    def with_problems(self, problems: list[Problem], message: str, lang: str) -> PlanForm:
        errors, general = _split(problems, set(PLAN_FIELDS), message, lang)
        return replace(self, errors=errors, general=general)

    def conflict(self, current: dict[str, Any]) -> PlanForm:
        return self  # a new plan has nothing that another person could have changed


@dataclass(frozen=True)
class FindingsUpload:
    """The upload of filled field lists on a plan's page, and the problems of a refused one."""

    plan: int
    message: str = ""
    problems: list[dict[str, Any]] = field(default_factory=list)
    template: str = "verification_upload.html"
    conflict_template: str = "verification_upload.html"

    @property
    def action(self) -> str:
        return f"/verification/{self.plan}/findings"

    def with_problems(self, problems: list[Problem], message: str,
                      lang: str) -> FindingsUpload:
        rows = [{"row": p.row, "column": p.column, "value": p.value,
                 "reason": p.message(lang)} for p in problems]
        return replace(self, message=message, problems=rows)

    def conflict(self, current: dict[str, Any]) -> FindingsUpload:
        return self
