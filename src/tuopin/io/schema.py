"""The import/export format of each registry kind: its columns, their types and titles.

One declaration serves the importer (which headers it accepts, how it parses a cell), the
template writer (headers, dropdowns, example row), the exporter and the synthetic generator.
A column is found by its field name (English), its English title or its Chinese title.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tuopin.domain.enums import (
    Education,
    FundSource,
    Health,
    HouseholdCategory,
    HouseholdStatus,
    HousingGrade,
    Labour,
    PaymentChannel,
    PovertyCause,
    ProjectKind,
    ProjectStatus,
    Relation,
    SchoolingStatus,
    Sex,
    Titled,
)
from tuopin.domain.money import MONEY_MAX
from tuopin.i18n import gettext


class FieldType(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    BOOLEAN = "boolean"
    ENUM = "enum"
    ENUM_LIST = "enum_list"
    TEXT_LIST = "text_list"
    ID_NUMBER = "id_number"
    REGION_CODE = "region_code"
    PHONE = "phone"
    FEN = "fen"  # money of the books: yuan as typed, integer fen in the table


@dataclass(frozen=True)
class Field:
    """One column of an import file."""

    name: str
    title: str  # English msgid; the Chinese header comes from the catalog
    type: FieldType
    required: bool = False
    enum: builtins.type[Titled] | None = None  # builtins: `type` is a field here
    example: str = ""
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    money: bool = False  # an amount in yuan: at most two decimal places (yuan and fen)

    def header(self, lang: str) -> str:
        """The column header a person sees in ``lang``."""
        return gettext(self.title, lang)


class Kind(StrEnum):
    """What an import file holds, in the order they must be imported."""

    REGIONS = "regions"
    HOUSEHOLDS = "households"
    MEMBERS = "members"
    SURVEYS = "surveys"
    HELPERS = "helpers"
    FUNDS = "funds"
    PROJECTS = "projects"
    ALLOCATIONS = "allocations"
    DISBURSEMENTS = "disbursements"


# The kinds of the books of funds (imported by a county office, not by a village).
FUND_KINDS = frozenset({Kind.FUNDS, Kind.PROJECTS, Kind.ALLOCATIONS, Kind.DISBURSEMENTS})
# The registry's kinds in the order they are imported (the books follow them).
REGISTRY_KINDS = tuple(kind for kind in Kind if kind not in FUND_KINDS)


T = FieldType
# Amounts stay DECIMAL (float64 in Arrow, as exports and the generator type them); the flag
# adds the rule of domain.money that an amount has no fraction of a fen.
MONEY: dict[str, Any] = {"minimum": 0.0, "maximum": float(MONEY_MAX), "money": True}
# The largest figure of the books: ten billion yuan (a province's yearly central funds are
# a few billion); a payment is at most this too.
BOOK_MAX = 10_000_000_000.0

FIELDS: dict[Kind, tuple[Field, ...]] = {
    Kind.REGIONS: (
        Field("code", "Region code", T.REGION_CODE, True, example="620000000000"),
        Field("name", "Region name", T.TEXT, True, example="甘肃省", max_length=64),
        Field("western", "Western region", T.BOOLEAN, example="是"),
    ),
    Kind.HOUSEHOLDS: (
        Field("number", "Household number", T.TEXT, True, example="6211210010010001",
              max_length=32),
        Field("village_code", "Village code", T.REGION_CODE, True, example="621121001001"),
        Field("address", "Address", T.TEXT, example="一组12号", max_length=200),
        Field("status", "Household status", T.ENUM, True, HouseholdStatus, example="贫困户"),
        Field("category", "Household category", T.ENUM, False, HouseholdCategory,
              example="一般贫困户"),
        Field("main_cause", "Main cause of poverty", T.ENUM, False, PovertyCause,
              example="因病"),
        Field("other_causes", "Other causes of poverty", T.ENUM_LIST, False, PovertyCause,
              example="缺技术;缺资金"),
        Field("year_identified", "Year identified", T.INTEGER, example="2016",
              minimum=2000, maximum=2100),
        Field("year_exited", "Year exited", T.INTEGER, example="",
              minimum=2000, maximum=2100),
        Field("phone", "Contact phone", T.PHONE, example="13800000000"),
        Field("bank_account", "Bank account", T.TEXT, example="6228480000000000000",
              max_length=32),
    ),
    Kind.MEMBERS: (
        Field("household_number", "Household number", T.TEXT, True,
              example="6211210010010001", max_length=32),
        Field("id_number", "ID number", T.ID_NUMBER, True, example="62112119800101001X"),
        Field("name", "Name", T.TEXT, True, example="张三", max_length=64),
        Field("sex", "Sex", T.ENUM, False, Sex, example="男"),
        Field("birth_date", "Birth date", T.DATE, False, example="1980-01-01"),
        Field("relation", "Relation to head", T.ENUM, True, Relation, example="户主"),
        Field("ethnicity", "Ethnicity", T.TEXT, example="汉族", max_length=16),
        Field("education", "Education", T.ENUM, False, Education, example="初中"),
        Field("schooling_status", "Schooling status", T.ENUM, False, SchoolingStatus,
              example="非在校生"),
        Field("health", "Health", T.ENUM, False, Health, example="健康"),
        Field("disability_grade", "Disability grade", T.INTEGER, example="",
              minimum=1, maximum=4),
        Field("labour", "Labour capacity", T.ENUM, False, Labour, example="普通劳动力"),
        Field("months_worked_away", "Months worked away", T.INTEGER, example="6",
              minimum=0, maximum=12),
        Field("medical_insurance", "Basic medical insurance", T.BOOLEAN, example="是"),
        Field("critical_illness_insurance", "Critical illness insurance", T.BOOLEAN,
              example="是"),
        Field("pension_insurance", "Pension insurance", T.BOOLEAN, example="是"),
        Field("dibao", "Minimum subsistence allowance", T.BOOLEAN, example="否"),
        Field("phone", "Phone", T.PHONE, example="13800000000"),
        Field("deceased_date", "Date of death", T.DATE, example=""),
    ),
    Kind.SURVEYS: (
        Field("household_number", "Household number", T.TEXT, True,
              example="6211210010010001", max_length=32),
        Field("year", "Survey year", T.INTEGER, True, example="2019",
              minimum=2000, maximum=2100),
        Field("household_size", "Household size", T.INTEGER, True, example="4",
              minimum=1, maximum=30),
        Field("wage_income", "Wage income", T.DECIMAL, example="12000", **MONEY),
        Field("production_income", "Production and business income", T.DECIMAL,
              example="3000", **MONEY),
        Field("property_income", "Property income", T.DECIMAL, example="0", **MONEY),
        Field("transfer_income", "Transfer income", T.DECIMAL, example="2400", **MONEY),
        Field("production_costs", "Production costs", T.DECIMAL, example="1500", **MONEY),
        Field("medical_expenses", "Out-of-pocket medical expenses", T.DECIMAL, example="800",
              **MONEY),
        Field("food_secure", "Food secure", T.BOOLEAN, True, example="是"),
        Field("clothing_secure", "Clothing secure", T.BOOLEAN, True, example="是"),
        Field("housing_grade", "Housing safety grade", T.ENUM, True, HousingGrade,
              example="B级（基本安全）"),
        Field("water_quantity_lpd", "Water quantity (litres per person per day)", T.DECIMAL,
              example="60", minimum=0, maximum=10_000),
        Field("water_piped", "Tap water at home", T.BOOLEAN, example="是"),
        Field("water_trip_minutes", "Water fetching trip (minutes)", T.DECIMAL, example="0",
              minimum=0, maximum=1_440),
        Field("water_outage_days", "Water outage days per year", T.INTEGER, example="0",
              minimum=0, maximum=366),
        Field("water_quality_ok", "Water quality acceptable", T.BOOLEAN, example="是"),
        Field("water_scarce_area", "Water-scarce area", T.BOOLEAN, example="否"),
        Field("collected_by", "Collected by", T.TEXT, example="李四", max_length=64),
        Field("collected_on", "Collected on", T.DATE, example="2019-11-20"),
    ),
    Kind.HELPERS: (
        Field("number", "Helper number", T.TEXT, True, example="H0001", max_length=32),
        Field("name", "Helper name", T.TEXT, True, example="王五", max_length=64),
        Field("unit", "Work unit", T.TEXT, True, example="县农业农村局", max_length=128),
        Field("post", "Post", T.TEXT, example="科员", max_length=64),
        Field("phone", "Helper phone", T.PHONE, example="13900000000"),
        Field("households", "Assigned households", T.TEXT_LIST, example="6211210010010001"),
        Field("start_date", "Assigned since", T.DATE, example="2016-03-01"),
        # a helper's own ID number: a payment to a helper's family is a conflict of interest
        Field("id_number", "Helper's ID number", T.ID_NUMBER, example="621121198506060018"),
    ),
    Kind.FUNDS: (
        Field("number", "Fund number", T.TEXT, True, example="F2020-001", max_length=32),
        Field("name", "Fund name", T.TEXT, True, example="2020年中央财政专项扶贫资金",
              max_length=128),
        Field("source", "Fund source", T.ENUM, True, FundSource, example="中央财政"),
        Field("year", "Fund year", T.INTEGER, True, example="2020", minimum=2000,
              maximum=2100),
        Field("amount", "Fund amount (yuan)", T.FEN, True, example="1500000.00",
              minimum=0.01, maximum=BOOK_MAX),
        Field("region_code", "Region holding the fund", T.REGION_CODE, True,
              example="621121"),
        Field("received_on", "Received on", T.DATE, True, example="2020-03-01"),
    ),
    Kind.PROJECTS: (
        Field("number", "Project number", T.TEXT, True, example="P2020-001", max_length=32),
        Field("name", "Project name", T.TEXT, True, example="东关村养殖产业扶持",
              max_length=128),
        Field("region_code", "Project region", T.REGION_CODE, True, example="621121001001"),
        Field("kind", "Project kind", T.ENUM, True, ProjectKind, example="产业项目"),
        Field("budget", "Budget (yuan)", T.FEN, True, example="300000.00", minimum=0,
              maximum=BOOK_MAX),
        Field("start_on", "Start date", T.DATE, True, example="2020-04-01"),
        Field("end_on", "End date", T.DATE, True, example="2020-12-31"),
        Field("status", "Project status", T.ENUM, True, ProjectStatus, example="实施中"),
        Field("closed_on", "Closed on", T.DATE, example=""),
    ),
    Kind.ALLOCATIONS: (
        Field("fund", "Fund number", T.TEXT, True, example="F2020-001", max_length=32),
        Field("project", "Project number", T.TEXT, True, example="P2020-001", max_length=32),
        Field("amount", "Allocated amount (yuan)", T.FEN, True, example="300000.00",
              minimum=0.01, maximum=BOOK_MAX),
        Field("allocated_on", "Allocated on", T.DATE, True, example="2020-04-01"),
    ),
    Kind.DISBURSEMENTS: (
        Field("number", "Payment number", T.TEXT, True, example="D2020-000001",
              max_length=32),
        Field("project", "Project number", T.TEXT, True, example="P2020-001", max_length=32),
        Field("payee_id_number", "Payee's ID number", T.ID_NUMBER,
              example="62112119800101001X"),
        Field("payee_household", "Payee household number", T.TEXT,
              example="6211210010010001", max_length=32),
        Field("amount", "Amount paid (yuan)", T.FEN, True, example="3000.00",
              minimum=-BOOK_MAX, maximum=BOOK_MAX),
        Field("paid_on", "Paid on", T.DATE, True, example="2020-06-15"),
        Field("channel", "Payment channel", T.ENUM, True, PaymentChannel, example="一卡通"),
        Field("account", "Account number", T.TEXT, example="6228480000000000000",
              max_length=40),
        Field("reverses", "Reverses payment", T.TEXT, example="", max_length=32),
    ),
}

# The natural key each kind is upserted by.
KEYS: dict[Kind, tuple[str, ...]] = {
    Kind.REGIONS: ("code",),
    Kind.HOUSEHOLDS: ("number",),
    Kind.MEMBERS: ("id_number",),
    Kind.SURVEYS: ("household_number", "year"),
    Kind.HELPERS: ("number",),
    Kind.FUNDS: ("number",),
    Kind.PROJECTS: ("number",),
    Kind.ALLOCATIONS: ("fund", "project"),
    Kind.DISBURSEMENTS: ("number",),
}

LIST_SEPARATORS = (";", "；", "、", ",", "，")


def fields(kind: Kind) -> tuple[Field, ...]:
    """The columns of ``kind`` in file order."""
    return FIELDS[kind]


def field_names(kind: Kind) -> list[str]:
    """The field names of ``kind``: the English header row of its files."""
    return [f.name for f in FIELDS[kind]]


def file_name(kind: Kind, fmt: str = "csv") -> str:
    """The conventional file name for a kind: ``regions.csv`` ..."""
    return f"{kind.value}.{fmt}"
