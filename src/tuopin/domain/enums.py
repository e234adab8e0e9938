"""Enumerations of the registry.

Each member's value is the stable id stored in the database and accepted by the importer;
``title`` is the English msgid that the translation catalog turns into Chinese.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Self


class Titled(StrEnum):
    """A string enum whose members carry an English title (a catalog msgid)."""

    title: str  # type: ignore[assignment]  # str.title() is shadowed on purpose

    def __new__(cls, value: str, title: str) -> Titled:
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.title = title
        return obj

    def __str__(self) -> str:
        return self.value

    @classmethod
    def of(cls, value: str) -> Self:
        """The member whose stored value is ``value`` (ValueError if none)."""
        return cls(value)  # type: ignore[call-arg]  # lookup by value, not a new member


class RegionLevel(IntEnum):
    """Level of a 统计用区划代码, numbered from the top."""

    PROVINCE = 1
    PREFECTURE = 2
    COUNTY = 3
    TOWNSHIP = 4
    VILLAGE = 5

    @property
    def digits(self) -> int:
        """How many leading digits of the 12-digit code are significant at this level."""
        return (2, 4, 6, 9, 12)[self - 1]

    @property
    def title(self) -> str:
        return self.name.lower()


class Sex(Titled):
    MALE = "male", "male"
    FEMALE = "female", "female"


class HouseholdStatus(Titled):
    ORDINARY = "ordinary", "ordinary household"
    POOR = "poor", "poor household"
    EXITED = "exited", "exited household"
    MONITORED = "monitored", "monitored household"


class HouseholdCategory(Titled):
    """建档立卡 household category: 一般 / 低保 / 五保 (特困供养)."""

    GENERAL = "general", "general poor household"
    DIBAO = "dibao", "minimum-subsistence household"
    WUBAO = "wubao", "five-guarantee household"


class PovertyCause(Titled):
    """致贫原因, with the registry's numeric codes (DOMAIN.md [an])."""

    ILLNESS = "illness", "illness"
    DISABILITY = "disability", "disability"
    SCHOOLING = "schooling", "schooling costs"
    DISASTER = "disaster", "disaster"
    LAND = "land", "lack of land"
    WATER = "water", "lack of water"
    SKILLS = "skills", "lack of skills"
    LABOUR = "labour", "lack of labour"
    CAPITAL = "capital", "lack of capital"
    TRANSPORT = "transport", "poor transport"
    DRIVE = "drive", "lack of drive"
    OTHER = "other", "other"

    @property
    def code(self) -> int:
        """The registry's numeric code (1-11, 99 for other)."""
        return 99 if self is PovertyCause.OTHER else list(PovertyCause).index(self) + 1


class Relation(Titled):
    """Relation to the head of household."""

    HEAD = "head", "head of household"
    SPOUSE = "spouse", "spouse"
    CHILD = "child", "child"
    CHILD_IN_LAW = "child_in_law", "child-in-law"
    GRANDCHILD = "grandchild", "grandchild"
    PARENT = "parent", "parent"
    GRANDPARENT = "grandparent", "grandparent"
    SIBLING = "sibling", "sibling"
    OTHER = "other", "other relative"


class Education(Titled):
    NONE = "none", "no schooling"
    PRESCHOOL = "preschool", "preschool"
    PRIMARY = "primary", "primary school"
    JUNIOR = "junior", "junior secondary"
    SENIOR = "senior", "senior secondary"
    VOCATIONAL = "vocational", "vocational"
    TERTIARY = "tertiary", "tertiary"


class SchoolingStatus(Titled):
    """Whether a member is in school (控辍保学)."""

    NOT_SCHOOL_AGE = "not_school_age", "not of school age"
    IN_SCHOOL = "in_school", "in school"
    DROPPED_OUT = "dropped_out", "left school"
    HOME_TAUGHT = "home_taught", "taught at home"
    GRADUATED = "graduated", "finished school"


class Health(Titled):
    HEALTHY = "healthy", "healthy"
    CHRONIC = "chronic", "chronic illness"
    SERIOUS = "serious", "serious illness"
    DISABLED = "disabled", "disabled"


class Labour(Titled):
    """Labour capacity."""

    SKILLED = "skilled", "skilled labour"
    ORDINARY = "ordinary", "ordinary labour"
    WEAK = "weak", "weak labour"
    LOST = "lost", "lost labour capacity"
    NONE = "none", "no labour capacity"


class HousingGrade(Titled):
    """住房安全等级 appraisal: C and D are dangerous housing (危房)."""

    A = "A", "grade A (safe)"
    B = "B", "grade B (basically safe)"
    C = "C", "grade C (partly dangerous)"
    D = "D", "grade D (dangerous)"


class Role(Titled):
    ADMIN = "admin", "administrator"
    COUNTY_OFFICER = "county_officer", "county officer"
    TOWNSHIP_OFFICER = "township_officer", "township officer"
    VILLAGE_CADRE = "village_cadre", "village cadre"
    HELPER = "helper", "helper"
    VERIFIER = "verifier", "verifier"
    AUDITOR = "auditor", "auditor"


class MeasureKind(Titled):
    """帮扶措施: what a measure is (the catalogue says what each one addresses)."""

    INDUSTRY = "industry", "industry"
    EMPLOYMENT = "employment", "employment"
    RELOCATION = "relocation", "relocation"
    EDUCATION = "education", "education support"
    HEALTH = "health", "health support"
    HOUSING = "housing", "housing renovation"
    WATER = "water", "drinking water"
    SAFETY_NET = "safety_net", "social safety net"
    MICROCREDIT = "microcredit", "microcredit"
    PUBLIC_JOB = "public_job", "public welfare job"
    ECOLOGICAL = "ecological", "ecological compensation"
    OTHER = "other_measure", "other measure"


class MeasureStatus(Titled):
    PLANNED = "planned", "planned"
    IN_PROGRESS = "in_progress", "in progress"
    DONE = "done", "done"
    VERIFIED = "verified", "verified"
    CANCELLED = "cancelled", "cancelled"


class PlanStatus(Titled):
    DRAFT = "draft", "draft"
    APPROVED = "approved", "approved"


class ExitState(Titled):
    """The exit workflow of a household (退出): 未脱贫 → 预脱贫 → 公示中 → 已脱贫, or 返贫."""

    NOT_EXITED = "not_exited", "not exited"
    PRE_EXIT = "pre_exit", "proposed for exit"
    IN_NOTICE = "in_notice", "in public notice"
    EXITED = "exited", "exited"
    RETURNED = "returned", "returned to poverty"


class MonitoringCategory(Titled):
    UNSTABLE_EXITED = "unstable_exited", "unstable exited household"
    EDGE = "edge", "household at the edge of poverty"
    SUDDEN_HARDSHIP = "sudden_hardship", "household in sudden severe hardship"


class MonitoringState(Titled):
    """防返贫监测 identification procedure (15 days at most) and its outcome."""

    PROPOSED = "proposed", "proposed"
    VISITED = "visited", "visited, household consents"
    REVIEWED = "reviewed", "democratic review held"
    IN_NOTICE = "in_notice", "in public notice"
    TOWNSHIP_REVIEWED = "township_reviewed", "reviewed by the township"
    IDENTIFIED = "identified", "identified as monitored"
    REJECTED = "rejected", "not identified"
    CLEARED = "cleared", "risk cleared"


class ShockKind(Titled):
    ILLNESS = "illness", "illness costs"
    DISASTER = "disaster", "natural disaster"
    ACCIDENT = "accident", "accident"
    LOST_WORK = "lost_work", "lost work"
    FAILED_BUSINESS = "failed_business", "failed business"
    OTHER = "other_shock", "other shock"


class UploadState(Titled):
    """Where a file uploaded for import stands: checked in the background, then imported."""

    RECEIVED = "received", "waiting to be checked"
    CHECKING = "checking", "being checked"
    CHECKED = "checked", "checked"
    FAILED = "failed", "could not be read"
    IMPORTING = "importing", "being imported"
    IMPORTED = "imported", "imported"
    CANCELLED = "cancelled", "cancelled"


class JobState(Titled):
    """Where a background job stands (tuopin worker runs it)."""

    QUEUED = "queued", "waiting for a worker"
    RUNNING = "running", "running"
    DONE = "done", "done"
    FAILED = "failed", "failed"
    CANCELLED = "cancelled", "cancelled"


class JobKind(Titled):
    """The long work a background job does."""

    IMPORT_CHECK = "import_check", "checking an uploaded file"
    IMPORT = "import", "importing an uploaded file"
    ASSESS = "assess", "assessment run"
    EXPORT = "export", "export"
    FUNDS_CHECK = "funds_check", "funds check"


class FundSource(Titled):
    """Where a poverty-alleviation fund comes from (DOMAIN.md, Funds)."""

    CENTRAL = "central", "central budget"
    PROVINCIAL = "provincial", "provincial budget"
    PREFECTURE = "prefecture", "prefecture budget"
    COUNTY = "county", "county budget"
    INTEGRATED = "integrated", "integrated agricultural funds"
    EAST_WEST = "east_west", "east-west cooperation"
    PAIRED = "paired", "paired assistance"
    DONATION = "donation", "social donation"


class ProjectKind(Titled):
    """What a project pays for."""

    INDUSTRY = "industry", "industry project"
    EMPLOYMENT = "employment", "employment project"
    HOUSING = "housing", "housing project"
    EDUCATION = "education", "education project"
    HEALTH = "health", "health project"
    WATER = "water", "drinking water project"
    INFRASTRUCTURE = "infrastructure", "infrastructure project"
    ASSET_INCOME = "asset_income", "asset income project"
    OTHER = "other", "other project"


class ProjectStatus(Titled):
    PLANNED = "planned", "project planned"
    IN_PROGRESS = "in_progress", "project under way"
    COMPLETED = "completed", "project completed"
    CLOSED = "closed", "project closed"


class PaymentChannel(Titled):
    """How a disbursement reached its payee."""

    CARD = "card", "benefit card (一卡通)"
    BANK = "bank", "bank transfer"
    CASH = "cash", "cash"
    COLLECTIVE = "collective", "paid to the village collective"
