"""What an ODK export's reader is told besides the export: a field map and the form itself.

A province's own form names its questions and choices its own way; ``--map MAP.toml`` says
which of them are tuopin's::

    [fields]            # their question name (last segment of its path) = tuopin field
    hh_id = "household_number"
    [choices.housing_grade]   # their choice name = tuopin's value, per tuopin field
    "1" = "A"
    [repeats]           # their repeat group = tuopin's
    family = "members"

``--form FILE.xlsx`` (the XLSForm) tells the reader what the export alone cannot: the
form id (the main table of a Central export), its repeat groups and its select_multiple
questions.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tuopin.domain.errors import ValidationFailed
from tuopin.io.cells import FALSE_WORDS, TRUE_WORDS, enum_labels
from tuopin.io.raw import RawFile, file_error
from tuopin.io.schema import Field, FieldType, Kind, fields

MEMBERS = "members"  # the one repeat group tuopin reads
SECTIONS = ("fields", "choices", "repeats")


def known_fields() -> dict[str, Field]:
    """The fields a submission can fill: a survey's and its members'."""
    return {spec.name: spec for kind in (Kind.SURVEYS, Kind.MEMBERS) for spec in fields(kind)}


@dataclass(frozen=True)
class Mapping:
    """Their names and choice values -> tuopin's; empty maps change nothing."""

    fields: dict[str, str] = field(default_factory=dict)
    choices: dict[str, dict[str, str]] = field(default_factory=dict)
    repeats: dict[str, str] = field(default_factory=dict)

    def repeat_name(self) -> str:
        """Their name of the members repeat."""
        return next((theirs for theirs, ours in self.repeats.items() if ours == MEMBERS),
                    MEMBERS)


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file; a name tuopin does not know is refused."""
    shown = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise file_error("The mapping file {name} cannot be read: {error}",
                         name=shown, error=str(exc)) from exc
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise file_error("The mapping file {name} has unknown sections: {sections}. It may "
                         "have [fields], [choices.FIELD] and [repeats].",
                         name=shown, sections=", ".join(unknown))
    known = known_fields()
    names = _table(data, "fields", shown)
    bad = sorted({ours for ours in names.values() if ours not in known})
    choices: dict[str, dict[str, str]] = {}
    for ours, values in _tables(data.get("choices", {}), shown).items():
        if ours not in known:
            bad.append(ours)
            continue
        choices[ours] = _table({ours: values}, ours, shown)
    if bad:
        raise file_error("The mapping file {name} names fields tuopin does not have: "
                         "{fields}. Known fields: {known}.", name=shown,
                         fields=", ".join(bad), known=", ".join(known))
    for ours, values in choices.items():
        _check_choices(known[ours], values, shown)
    repeats = _table(data, "repeats", shown)
    wrong = sorted(ours for ours in repeats.values() if ours != MEMBERS)
    if wrong:
        raise file_error("The mapping file {name} maps a repeat onto {repeats}: the only "
                         "repeat tuopin reads is members.", name=shown, repeats=", ".join(wrong))
    return Mapping(names, choices, repeats)


def _tables(value: object, shown: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise file_error("The mapping file {name}: [choices] holds one table per field, "
                         "such as [choices.housing_grade].", name=shown)
    return value


def _table(data: dict[str, object], section: str, shown: str) -> dict[str, str]:
    value = data.get(section, {})
    if not isinstance(value, dict) or not all(
            isinstance(v, str) and k.strip() for k, v in value.items()):
        raise file_error("The mapping file {name}: every entry of [{section}] must be "
                         "name = \"text\".", name=shown, section=section)
    return {k.strip(): v.strip() for k, v in value.items()}


def _check_choices(spec: Field, values: dict[str, str], shown: str) -> None:
    """A choice must map onto a value the importer accepts for that field."""
    if spec.enum is not None:
        accepted = set(enum_labels(spec.enum))
    elif spec.type is FieldType.BOOLEAN:
        accepted = set(TRUE_WORDS) | set(FALSE_WORDS)
    else:
        return  # a text or number field takes any value; the importer checks it
    wrong = sorted(ours for ours in values.values() if ours.lower() not in accepted)
    if wrong:
        raise file_error("The mapping file {name} maps choices of {field} onto values it "
                         "does not accept: {values}.", name=shown, field=spec.name,
                         values=", ".join(wrong))


@dataclass(frozen=True)
class FormInfo:
    """What an XLSForm says about its export: form id, repeats, select_multiple names."""

    form_id: str | None
    repeats: frozenset[str]
    select_multiple: frozenset[str]


def read_form(path: Path) -> FormInfo:
    """The form id, repeat names and select_multiple question names of an XLSForm."""
    from tuopin.io.workbooks import read_xlsx

    try:
        survey = read_xlsx(path, "survey", name=path.name)
    except ValidationFailed as exc:
        raise file_error("The form {name} is not an XLSForm with a survey sheet: {error}",
                         name=path.name, error=str(exc)) from exc
    types, names = _column(survey, "type"), _column(survey, "name")
    repeats, multiple = set(), set()
    for kind, name in zip(types, names, strict=True):
        words = (kind or "").strip().lower().replace("_", " ").split()
        if not name or not words:
            continue
        if words[:2] == ["begin", "repeat"]:
            repeats.add(name.strip())
        elif words[:2] == ["select", "multiple"]:  # also select_multiple_from_file
            multiple.add(name.strip())
    return FormInfo(_form_id(path), frozenset(repeats), frozenset(multiple))


def _column(raw: RawFile, header: str) -> list[str | None]:
    lowered = [h.strip().lower() for h in raw.headers]
    if header not in lowered:
        raise file_error("The form's survey sheet has no column {column}.", column=header)
    return raw.table.column(lowered.index(header)).to_pylist()


def _form_id(path: Path) -> str | None:
    """The settings sheet's form_id; pyxform falls back on the file's name."""
    from tuopin.io.workbooks import read_xlsx

    try:
        settings = read_xlsx(path, "settings", name=path.name)
    except ValidationFailed:
        return path.stem
    lowered = [h.strip().lower() for h in settings.headers]
    for header in ("form_id", "id_string"):
        if header in lowered and len(settings):
            value = settings.table.column(lowered.index(header))[0].as_py()
            if value:
                return str(value).strip()
    return path.stem
