"""Records of the registry (建档立卡): regions, households, members, surveys, helpers."""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tuopin.storage.models.base import Base, BigId


class RegionRecord(Base):
    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(SmallInteger)
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("region.code"), index=True, default=None
    )
    western: Mapped[bool | None] = mapped_column(Boolean, default=None)


class HouseholdRecord(Base):
    __tablename__ = "household"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    village_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    address: Mapped[str | None] = mapped_column(String(200), default=None)
    status: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(16), default=None)
    main_cause: Mapped[str | None] = mapped_column(String(16), default=None)
    other_causes: Mapped[str | None] = mapped_column(String(200), default=None)
    year_identified: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    year_exited: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    phone: Mapped[str | None] = mapped_column(String(20), default=None)
    bank_account: Mapped[str | None] = mapped_column(String(32), default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)

    members: Mapped[list[MemberRecord]] = relationship(
        back_populates="household", order_by="MemberRecord.id"
    )
    surveys: Mapped[list[SurveyRecord]] = relationship(
        back_populates="household", order_by="SurveyRecord.year"
    )

    __mapper_args__ = {"version_id_col": version}


class MemberRecord(Base):
    __tablename__ = "member"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    # bytewise on PostgreSQL whatever the database's collation (migration 0014)
    id_number: Mapped[str] = mapped_column(
        String(18).with_variant(String(18, collation="C"), "postgresql"), unique=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    sex: Mapped[str] = mapped_column(String(8))
    birth_date: Mapped[date] = mapped_column(Date)
    relation: Mapped[str] = mapped_column(String(16))
    ethnicity: Mapped[str | None] = mapped_column(String(16), default=None)
    education: Mapped[str | None] = mapped_column(String(16), default=None)
    schooling_status: Mapped[str | None] = mapped_column(String(16), default=None)
    health: Mapped[str | None] = mapped_column(String(16), default=None)
    disability_grade: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    labour: Mapped[str | None] = mapped_column(String(16), default=None)
    months_worked_away: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    medical_insurance: Mapped[bool | None] = mapped_column(Boolean, default=None)
    critical_illness_insurance: Mapped[bool | None] = mapped_column(Boolean, default=None)
    pension_insurance: Mapped[bool | None] = mapped_column(Boolean, default=None)
    dibao: Mapped[bool | None] = mapped_column(Boolean, default=None)
    phone: Mapped[str | None] = mapped_column(String(20), default=None)
    deceased_date: Mapped[date | None] = mapped_column(Date, default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)

    household: Mapped[HouseholdRecord] = relationship(back_populates="members")

    __mapper_args__ = {"version_id_col": version}


class SurveyRecord(Base):
    """年度信息采集: one household's annual survey."""

    __tablename__ = "survey"
    __table_args__ = (UniqueConstraint("household_id", "year"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    year: Mapped[int] = mapped_column(SmallInteger, index=True)
    household_size: Mapped[int] = mapped_column(SmallInteger)
    wage_income: Mapped[float | None] = mapped_column(Float, default=None)
    production_income: Mapped[float | None] = mapped_column(Float, default=None)
    property_income: Mapped[float | None] = mapped_column(Float, default=None)
    transfer_income: Mapped[float | None] = mapped_column(Float, default=None)
    production_costs: Mapped[float | None] = mapped_column(Float, default=None)
    medical_expenses: Mapped[float | None] = mapped_column(Float, default=None)
    food_secure: Mapped[bool] = mapped_column(Boolean)
    clothing_secure: Mapped[bool] = mapped_column(Boolean)
    housing_grade: Mapped[str] = mapped_column(String(1))
    water_quantity_lpd: Mapped[float | None] = mapped_column(Float, default=None)
    water_piped: Mapped[bool | None] = mapped_column(Boolean, default=None)
    water_trip_minutes: Mapped[float | None] = mapped_column(Float, default=None)
    water_outage_days: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    water_quality_ok: Mapped[bool | None] = mapped_column(Boolean, default=None)
    water_scarce_area: Mapped[bool | None] = mapped_column(Boolean, default=None)
    collected_by: Mapped[str | None] = mapped_column(String(64), default=None)
    collected_on: Mapped[date | None] = mapped_column(Date, default=None)

    household: Mapped[HouseholdRecord] = relationship(back_populates="surveys")


class SurveySubmissionRecord(Base):
    """Where a household's annual survey came from when it was collected on a phone (ODK
    Collect, KoboToolbox): the submission's stable instance id and what the export said of it.

    One per survey (household, year). ``instance_id`` is ODK Central's KEY or Kobo's root
    uuid, which an edit keeps; ``current_id`` is the instance id of the edit last imported.
    """

    __tablename__ = "survey_submission"
    __table_args__ = (UniqueConstraint("household_id", "year"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(String(100), unique=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    year: Mapped[int] = mapped_column(SmallInteger)
    current_id: Mapped[str | None] = mapped_column(String(100), default=None)
    form_id: Mapped[str | None] = mapped_column(String(100), default=None)
    form_version: Mapped[str | None] = mapped_column(String(100), default=None)
    submitter: Mapped[str | None] = mapped_column(String(100), default=None)
    submitted_at: Mapped[str | None] = mapped_column(String(40), default=None)  # as exported
    source: Mapped[str] = mapped_column(String(16))  # central, kobo-xlsx, kobo-csv
    file_sha256: Mapped[str] = mapped_column(String(64))  # the export it last came from


class HelperRecord(Base):
    """帮扶责任人."""

    __tablename__ = "helper"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(128))
    post: Mapped[str | None] = mapped_column(String(64), default=None)
    phone: Mapped[str | None] = mapped_column(String(20), default=None)
    # the helper's own ID number: a payment to a helper's family is a conflict of interest
    id_number: Mapped[str | None] = mapped_column(String(18), index=True, default=None)


class HelperAssignmentRecord(Base):
    __tablename__ = "helper_assignment"
    __table_args__ = (UniqueConstraint("helper_id", "household_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    helper_id: Mapped[int] = mapped_column(ForeignKey("helper.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    start_date: Mapped[date | None] = mapped_column(Date, default=None)
    end_date: Mapped[date | None] = mapped_column(Date, default=None)


class UserRecord(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), default=None)
    helper_id: Mapped[int | None] = mapped_column(ForeignKey("helper.id"), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[str] = mapped_column(String(32))
