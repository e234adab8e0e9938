"""The annual household survey as an XLSForm, generated from a standard and a year.

The questions are the importer's own fields (io/schema.py): the same names, so a submission
exported from ODK Central or KoboToolbox reads back by the last segment of each column's path;
the same required flags and ranges, as constraints the phone enforces; the same enumerations,
whose choice names are the values tuopin stores. Only what the standard reads and what the
importers require is asked (io/xlsform_fields.py).

Layout: ``household_number`` at the root (picked from ``households.csv`` - a media file or
an ODK Entity List of that name - or typed), ``year`` a calculate, pages (groups) of survey
questions, the repeat ``members``, and two metadata fields: ``collected_on`` (the day the
form was filled in) and ``collected_by`` (the collector's user name).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tuopin.domain import regions
from tuopin.domain.enums import Titled
from tuopin.i18n import LANGS, N_, gettext, translate
from tuopin.io.schema import FIELDS, Field, FieldType, Kind
from tuopin.io.xlsform_fields import asked
from tuopin.io.xlsform_rules import YES_NO, constraint, list_name, xlsform_type
from tuopin.standards.model import Standard

LANGUAGES = {"zh": "中文 (zh)", "en": "English (en)"}
HOUSEHOLDS = "households"  # the media file households.csv, or the Entity List of that name
HOUSEHOLDS_FILE = f"{HOUSEHOLDS}.csv"
MEMBERS = "members"
SURVEY_OF = N_("Survey of {year}")
# the pages of the survey questions, in order; a field on no page stays at the root
PAGES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("household", N_("Household and income (yuan a year)"),
     ("household_size", "wage_income", "production_income", "property_income",
      "transfer_income", "production_costs", "medical_expenses")),
    ("assurances", N_("Food, clothing and housing"),
     ("food_secure", "clothing_secure", "housing_grade")),
    ("water", N_("Drinking water"),
     ("water_quantity_lpd", "water_piped", "water_trip_minutes", "water_outage_days",
      "water_quality_ok", "water_scarce_area")),
)
MEMBERS_TITLE = N_("Household members")
# answered by the phone, not by a person: the day and the collector's user name
METADATA = (("today", "collected_on"), ("username", "collected_by"))
# the birth date is in the ID number (the importer checks they agree): never asked twice
BIRTH_DATE_OF_ID = ("concat(substr(${id_number}, 6, 10), '-', substr(${id_number}, 10, 12), '-',"
                    " substr(${id_number}, 12, 14))")
VERSION_LENGTH = 10


@dataclass(frozen=True)
class Area:
    """The region a form is made for: its id and title name it."""

    code: str
    name: str


@dataclass
class XLSForm:
    """The three sheets of an XLSForm, as rows of column -> cell."""

    survey: list[dict[str, str]]
    choices: list[dict[str, str]]
    settings: dict[str, str]
    langs: tuple[str, ...] = field(default=LANGS)

    @property
    def form_id(self) -> str:
        return self.settings["form_id"]

    @property
    def version(self) -> str:
        return self.settings["version"]

    def columns(self, sheet: str) -> list[str]:
        """A sheet's header row: every column used, in first-used order."""
        rows = self.survey if sheet == "survey" else self.choices
        return list(dict.fromkeys(key for row in rows for key in row))

    def to_bytes(self) -> bytes:
        """The workbook (.xlsx) as bytes."""
        from openpyxl import Workbook  # heavy: only when a form is written

        book = Workbook()
        book.remove(book.active)
        for sheet, rows in (("survey", self.survey), ("choices", self.choices),
                            ("settings", [self.settings])):
            page = book.create_sheet(sheet)
            header = list(self.settings) if sheet == "settings" else self.columns(sheet)
            page.append(header)
            for row in rows:
                page.append([row.get(column, "") for column in header])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()

    def write(self, path: Path) -> Path:
        path.write_bytes(self.to_bytes())
        return path


def parse_langs(text: str | Sequence[str]) -> tuple[str, ...]:
    """``zh,en`` -> ("zh", "en"); only the languages tuopin has."""
    items = text.split(",") if isinstance(text, str) else list(text)
    langs = tuple(dict.fromkeys(item.strip().lower() for item in items if item.strip()))
    unknown = [lang for lang in langs if lang not in LANGUAGES]
    if unknown or not langs:
        raise ValueError(f"languages are {' and '.join(LANGUAGES)}, not {', '.join(unknown)}")
    return langs


def _texts(column: str, msgid: str, langs: Sequence[str], **params: object) -> dict[str, str]:
    return {f"{column}::{LANGUAGES[lang]}": translate(msgid, lang, **params) for lang in langs}


def _question(spec: Field, langs: Sequence[str]) -> dict[str, str]:
    row = {"type": xlsform_type(spec), "name": spec.name,
           **{f"label::{LANGUAGES[lang]}": gettext(spec.title, lang) for lang in langs}}
    if spec.required:
        row["required"] = "yes"
    rule = constraint(spec)
    if rule is not None:
        row["constraint"] = rule.expression
        row.update({f"constraint_message::{LANGUAGES[lang]}": rule.message(lang)
                    for lang in langs})
    return row


def _household(langs: Sequence[str], typed: bool,
               file: str = HOUSEHOLDS_FILE) -> dict[str, str]:
    spec = next(f for f in FIELDS[Kind.SURVEYS] if f.name == "household_number")
    row = _question(spec, langs)
    if not typed:  # the value is the number property of the file's row, or of the entity
        row.pop("constraint")
        row = {k: v for k, v in row.items() if not k.startswith("constraint_message")}
        row["type"] = f"select_one_from_file {file}"
        row["parameters"] = "value=number label=label"
    return row


def _group(name: str, title: str, rows: list[dict[str, str]], langs: Sequence[str],
           kind: str = "group") -> Iterator[dict[str, str]]:
    begin = {"type": f"begin_{kind}", "name": name, **_texts("label", title, langs)}
    if kind == "group":
        begin["appearance"] = "field-list"
    yield begin
    yield from rows
    yield {"type": f"end_{kind}", "name": name}


def _survey_rows(standard: Standard, year: int, langs: Sequence[str],
                 typed: bool) -> list[dict[str, str]]:
    fields = asked(standard)
    rows = [_household(langs, typed), {"type": "calculate", "name": "year",
                                       "calculation": str(year)}]
    survey = {spec.name: spec for spec in fields.survey
              if spec.name not in ("household_number", "year")}
    placed: set[str] = set()
    for name, title, names in PAGES:
        page = [_question(survey[n], langs) for n in names if n in survey]
        placed |= set(names)
        if page:
            rows += _group(name, title, page, langs)
    meta = {name for _, name in METADATA}
    rows += [_question(spec, langs) for n, spec in survey.items()
             if n not in placed and n not in meta]
    members = []
    for spec in fields.members:
        if spec.name == "birth_date":
            members.append({"type": "calculate", "name": spec.name,
                            "calculation": BIRTH_DATE_OF_ID})
        else:
            members.append(_question(spec, langs))
    rows += _group(MEMBERS, MEMBERS_TITLE, members, langs, kind="repeat")
    rows += [{"type": kind, "name": name} for kind, name in METADATA]
    return rows


def _choices(specs: Iterable[Field], langs: Sequence[str]) -> list[dict[str, str]]:
    """The choice lists of the asked fields: ``yes_no``, then one per enumeration."""
    specs = list(specs)
    rows: list[dict[str, str]] = []
    if any(spec.type is FieldType.BOOLEAN for spec in specs):
        rows += [{"list_name": YES_NO, "name": value, **_texts("label", value, langs)}
                 for value in ("yes", "no")]
    lists = {list_name(spec.enum.__name__): spec.enum for spec in specs
             if spec.enum is not None and spec.type in (FieldType.ENUM, FieldType.ENUM_LIST)}
    for name in sorted(lists):
        members: list[Titled] = list(lists[name])
        rows += [{"list_name": name, "name": member.value,
                  **_texts("label", member.title, langs)} for member in members]
    return rows


def form_id(standard: Standard, year: int, area: Area | None = None) -> str:
    """``tuopin_cn_national_2024`` (``_621121001001`` for an area's form)."""
    stem = re.sub(r"[^a-z0-9]+", "_", standard.name.lower()).strip("_")
    return f"tuopin_{stem}_{year}" + (f"_{area.code}" if area else "")


def _title(standard: Standard, year: int, area: Area | None, lang: str) -> str:
    parts = [standard.title.get(lang), translate(SURVEY_OF, lang, year=year)]
    return " · ".join(parts + ([area.name] if area else []))


def version_of(survey: list[dict[str, str]], choices: list[dict[str, str]],
               settings: dict[str, str]) -> str:
    """A short hash of the form's content: it changes whenever a cell changes."""
    content = json.dumps([survey, choices, settings], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(content.encode("utf-8")).hexdigest()[:VERSION_LENGTH]


def survey_form(standard: Standard, *, year: int, langs: Sequence[str] = LANGS,
                area: Area | None = None, typed_household: bool = False) -> XLSForm:
    """The annual household survey of ``year`` for ``standard`` (for ``area`` if given)."""
    langs = parse_langs(langs)
    if not 2000 <= year <= 2100:
        raise ValueError(f"the survey year {year} is outside 2000-2100")
    if area is not None:
        regions.level_of(regions.normalize(area.code))  # a malformed code raises
    survey = _survey_rows(standard, year, langs, typed_household)
    fields = asked(standard)
    choices = _choices([*fields.survey, *fields.members], langs)
    title_lang = "zh" if "zh" in langs else langs[0]
    settings = {"form_id": form_id(standard, year, area),
                "form_title": _title(standard, year, area, title_lang),
                "default_language": LANGUAGES[title_lang],
                "instance_name": "concat(${household_number}, ' ', ${year})"}
    settings["version"] = version_of(survey, choices, settings)
    return XLSForm(survey, choices, settings, tuple(langs))


def list_form(specs: Sequence[Field], *, form_id: str, title: str, choices_file: str,
              langs: Sequence[str] = LANGS,
              relevant: Mapping[str, str] | None = None) -> XLSForm:
    """A flat form over a list of households (a verification sample): ``household_number``
    picked from ``choices_file``, then the questions of ``specs``, each shown when its
    ``relevant`` expression holds."""
    langs = parse_langs(langs)
    rows = [_household(langs, typed=False, file=choices_file)]
    for spec in specs:
        if spec.name == "household_number":
            continue
        row = _question(spec, langs)
        if relevant and spec.name in relevant:
            row["relevant"] = relevant[spec.name]
        rows.append(row)
    title_lang = "zh" if "zh" in langs else langs[0]
    settings = {"form_id": form_id, "form_title": title,
                "default_language": LANGUAGES[title_lang],
                "instance_name": "${household_number}"}
    choices = _choices(specs, langs)
    settings["version"] = version_of(rows, choices, settings)
    return XLSForm(rows, choices, settings, tuple(langs))
