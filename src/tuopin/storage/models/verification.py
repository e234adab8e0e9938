"""Independent verification: a plan (its design, seed and hashes, each step's who and when),
the households drawn (with their inclusion probabilities) and what the verifiers found.

A plan's sample is written once, by its draw, and never changed; the hashes let anyone prove
it: ``frame_hash`` is the SHA-256 of the county's frame as drawn from, ``sample_hash`` of the
sample file (services.verification.draws). A finding is one per household drawn, changed
until the plan is closed.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tuopin.storage.models.base import Base, BigId


class VerificationPlanRecord(Base):
    __tablename__ = "verification_plan"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)  # a county
    year: Mapped[int] = mapped_column(SmallInteger)
    kind: Mapped[str] = mapped_column(String(16))  # VerificationKind
    margin: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    deff: Mapped[float] = mapped_column(Float)
    p: Mapped[float] = mapped_column(Float)
    villages: Mapped[int | None] = mapped_column(Integer, default=None)  # None: computed
    sizes: Mapped[str | None] = mapped_column(Text, default=None)  # JSON: frame -> n given
    seed: Mapped[int] = mapped_column(BigInteger)
    design: Mapped[str | None] = mapped_column(Text, default=None)  # JSON, written by the draw
    state: Mapped[str] = mapped_column(String(16), index=True)  # PlanState
    frame_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    frame: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # gzip of the frame
    sample_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    sample_size: Mapped[int | None] = mapped_column(Integer, default=None)
    planned_by: Mapped[str] = mapped_column(String(64))
    planned_on: Mapped[date] = mapped_column(Date)
    drawn_by: Mapped[str | None] = mapped_column(String(64), default=None)
    drawn_on: Mapped[date | None] = mapped_column(Date, default=None)
    released_by: Mapped[str | None] = mapped_column(String(64), default=None)
    released_on: Mapped[date | None] = mapped_column(Date, default=None)
    closed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    closed_on: Mapped[date | None] = mapped_column(Date, default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class VerificationSampleRecord(Base):
    """One household drawn: where, in which stratum, with which probabilities."""

    __tablename__ = "verification_sample"
    __table_args__ = (UniqueConstraint("plan_id", "household_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("verification_plan.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # the row of the sample file
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    household_number: Mapped[str] = mapped_column(String(32))
    village_code: Mapped[str] = mapped_column(String(12), index=True)
    township_code: Mapped[str] = mapped_column(String(12))
    frame: Mapped[str] = mapped_column(String(16))  # Frame
    stratum: Mapped[str] = mapped_column(String(32))  # township × frame
    variance_stratum: Mapped[str] = mapped_column(String(16))
    psu: Mapped[str] = mapped_column(String(32))  # the village (a certainty one: the household)
    pi_village: Mapped[float] = mapped_column(Float)
    pi_household: Mapped[float] = mapped_column(Float)  # given the village
    probability: Mapped[float] = mapped_column(Float)
    weight: Mapped[float] = mapped_column(Float)  # 1 / probability


class VerificationFindingRecord(Base):
    """What the verifier found at one household drawn (the annual survey's fields)."""

    __tablename__ = "verification_finding"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("verification_plan.id"), index=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("verification_sample.id"), unique=True)
    visited: Mapped[bool] = mapped_column(Boolean)
    not_visited_reason: Mapped[str | None] = mapped_column(String(16), default=None)
    visited_on: Mapped[date | None] = mapped_column(Date, default=None)
    household_size: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    wage_income: Mapped[float | None] = mapped_column(Float, default=None)
    production_income: Mapped[float | None] = mapped_column(Float, default=None)
    property_income: Mapped[float | None] = mapped_column(Float, default=None)
    transfer_income: Mapped[float | None] = mapped_column(Float, default=None)
    production_costs: Mapped[float | None] = mapped_column(Float, default=None)
    medical_expenses: Mapped[float | None] = mapped_column(Float, default=None)
    food_secure: Mapped[bool | None] = mapped_column(Boolean, default=None)
    clothing_secure: Mapped[bool | None] = mapped_column(Boolean, default=None)
    schooling_secure: Mapped[bool | None] = mapped_column(Boolean, default=None)
    medical_secure: Mapped[bool | None] = mapped_column(Boolean, default=None)
    housing_grade: Mapped[str | None] = mapped_column(String(1), default=None)
    water_quantity_lpd: Mapped[float | None] = mapped_column(Float, default=None)
    water_piped: Mapped[bool | None] = mapped_column(Boolean, default=None)
    water_trip_minutes: Mapped[float | None] = mapped_column(Float, default=None)
    water_outage_days: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    water_quality_ok: Mapped[bool | None] = mapped_column(Boolean, default=None)
    water_scarce_area: Mapped[bool | None] = mapped_column(Boolean, default=None)
    judgement: Mapped[str | None] = mapped_column(String(16), default=None)  # Judgement
    approval: Mapped[bool | None] = mapped_column(Boolean, default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_on: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
