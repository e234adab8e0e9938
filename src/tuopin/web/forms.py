"""The household edit form: its fields (the importer's), what it shows, what it sends.

The form keeps what it showed when it was opened (hidden ``seen.*`` fields) so that a save
refused because someone else saved first can say exactly what changed in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from starlette.datastructures import FormData

from tuopin.io.cells import as_text
from tuopin.io.problems import Problem
from tuopin.io.schema import FieldType, Kind, fields
from tuopin.services.access.masking import MASKS

# The status and its years are not here: they change only through the procedures (the
# service refuses them too, whatever is posted).
EDITABLE = ("address", "category", "main_cause", "other_causes", "phone", "bank_account")
# ... but whatever is posted for them goes to the service, which refuses it with the reason
BY_PROCEDURE = ("status", "year_identified", "year_exited")
SENSITIVE = ("phone", "bank_account")
WIDGETS = {FieldType.ENUM: "select", FieldType.ENUM_LIST: "multi", FieldType.INTEGER: "number",
           FieldType.PHONE: "tel"}


@dataclass(frozen=True)
class FormField:
    name: str
    title: str  # a catalog msgid
    widget: str  # select | multi | number | tel | text
    required: bool
    options: tuple[tuple[str, str], ...] = ()  # (stored id, title msgid)
    sensitive: bool = False


@lru_cache(maxsize=1)
def household_fields() -> tuple[FormField, ...]:
    """The editable household fields, typed and titled as the importer declares them."""
    return tuple(
        FormField(f.name, f.title, WIDGETS.get(f.type, "text"), f.required,
                  tuple((m.value, m.title) for m in f.enum) if f.enum else (),
                  f.name in SENSITIVE)
        for f in fields(Kind.HOUSEHOLDS) if f.name in EDITABLE
    )


@dataclass(frozen=True)
class HouseholdEdit:
    """One household's edit form: values, the version it was opened at, errors, changes."""

    number: str
    version: int
    values: dict[str, str]
    seen: dict[str, str]
    clear: bool  # the user sees full numbers (else sensitive inputs start empty)
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    changes: list[dict[str, str]] = field(default_factory=list)
    forged: dict[str, str | None] = field(default_factory=dict)  # posted procedure fields
    template: str = "household_edit.html"
    conflict_template: str = "household_conflict.html"

    @property
    def fields(self) -> tuple[FormField, ...]:
        return household_fields()

    @classmethod
    def load(cls, household: dict[str, Any], *, clear: bool) -> HouseholdEdit:
        seen = {f.name: cls._shown(f, household.get(f.name), clear) for f in household_fields()}
        values = {k: ("" if k in SENSITIVE and not clear else v) for k, v in seen.items()}
        return cls(household["number"], int(household["version"]), values, seen, clear)

    @classmethod
    def from_post(cls, number: str, form: FormData, *, clear: bool) -> HouseholdEdit:
        values: dict[str, str] = {}
        for f in household_fields():
            typed = [str(v).strip() for v in form.getlist(f.name)]
            values[f.name] = ";".join(v for v in typed if v)
        seen = {f.name: str(form.get(f"seen.{f.name}", "")) for f in household_fields()}
        version = str(form.get("version", ""))
        forged = {n: str(form.get(n, "")).strip() or None for n in BY_PROCEDURE if n in form}
        return cls(number, int(version) if version.isdigit() else 0, values, seen, clear,
                   forged=forged)

    @staticmethod
    def _shown(spec: FormField, value: Any, clear: bool) -> str:
        text = as_text(value)
        return MASKS[spec.name](text) if spec.sensitive and text and not clear else text

    def changes_to_save(self) -> dict[str, str | None]:
        """What the service gets: empty means "none", except a masked number left empty."""
        return {
            **{name: value or None for name, value in self.values.items()
               if not (name in SENSITIVE and not self.clear and not value)},
            **self.forged,
        }

    def with_problems(self, problems: list[Problem], message: str, lang: str) -> HouseholdEdit:
        """The same form with each problem next to its field (others at the top)."""
        names = {f.name for f in household_fields()}
        errors = {p.column: p.message(lang) for p in problems if p.column in names}
        general = [p.message(lang) for p in problems if p.column not in names]
        return replace(self, errors=errors, general=general or ([] if errors else [message]))

    def conflict(self, current: dict[str, Any]) -> HouseholdEdit:
        """The fields that changed since the form was opened: then, now, and what was typed."""
        changes = []
        for spec in household_fields():
            now = self._shown(spec, current.get(spec.name), self.clear)
            if now != self.seen.get(spec.name, ""):
                changes.append({"name": spec.name, "title": spec.title,
                                "seen": self.seen.get(spec.name, ""), "now": now,
                                "typed": self.values.get(spec.name, "")})
        return replace(self, changes=changes)
