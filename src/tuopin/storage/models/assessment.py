"""Assessment runs and their per-household results (immutable once written)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tuopin.storage.models.base import Base, BigId


class AssessmentRunRecord(Base):
    """An immutable assessment: which standard (and its exact text), which year, which data."""

    __tablename__ = "assessment_run"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    standard_name: Mapped[str] = mapped_column(String(64))
    standard_version: Mapped[str] = mapped_column(String(32))
    standard_hash: Mapped[str] = mapped_column(String(64))
    standard_text: Mapped[str] = mapped_column(Text)
    year: Mapped[int] = mapped_column(SmallInteger)
    engine: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str | None] = mapped_column(String(12), default=None)
    snapshot_at: Mapped[str] = mapped_column(String(32))  # when the data were read (UTC ISO)
    created_at: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(64))
    households: Mapped[int] = mapped_column(Integer)
    members: Mapped[int] = mapped_column(Integer)
    poor_households: Mapped[int] = mapped_column(Integer)
    poor_members: Mapped[int] = mapped_column(Integer)
    counts: Mapped[str] = mapped_column(Text)  # JSON: deprived households per indicator ...
    timings: Mapped[str] = mapped_column(Text)  # JSON: seconds per stage
    note: Mapped[str | None] = mapped_column(Text, default=None)


class AssessmentResultRecord(Base):
    """One household's result in one run; the facts behind its explanation as JSON."""

    __tablename__ = "assessment_result"
    __table_args__ = (UniqueConstraint("run_id", "household_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("assessment_run.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    household_number: Mapped[str] = mapped_column(String(32))
    village_code: Mapped[str] = mapped_column(String(12))
    members: Mapped[int] = mapped_column(SmallInteger)
    income_per_capita: Mapped[float | None] = mapped_column(Float, default=None)
    score: Mapped[float] = mapped_column(Float)
    poor: Mapped[bool] = mapped_column(Boolean)
    deprived: Mapped[str] = mapped_column(String(400))  # indicator ids joined by ';'
    categories: Mapped[str] = mapped_column(String(200))  # category ids joined by ';'
    facts: Mapped[str | None] = mapped_column(Text, default=None)  # JSON, see analytics


class AssessmentRollupRecord(Base):
    """A run's figures for one region at one level, written with the run (dashboards read
    these instead of aggregating the results on every request)."""

    __tablename__ = "assessment_rollup"

    run_id: Mapped[int] = mapped_column(ForeignKey("assessment_run.id"), primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # RegionLevel
    region_code: Mapped[str] = mapped_column(String(12), primary_key=True)  # 12 digits
    households: Mapped[int] = mapped_column(Integer)
    people: Mapped[int] = mapped_column(Integer)
    poor_households: Mapped[int] = mapped_column(Integer)
    poor_people: Mapped[int] = mapped_column(Integer)
