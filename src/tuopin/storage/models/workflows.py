"""Exit cases (household, village, county) and return-to-poverty monitoring cases."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tuopin.storage.models.base import Base, BigId


class ExitCaseRecord(Base):
    """A household's way out of poverty (the domain's exit state machine), step by step."""

    __tablename__ = "exit_case"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)  # ExitState
    run_id: Mapped[int | None] = mapped_column(ForeignKey("assessment_run.id"), default=None)
    opened_on: Mapped[date] = mapped_column(Date)
    notice_start: Mapped[date | None] = mapped_column(Date, default=None)
    notice_end: Mapped[date | None] = mapped_column(Date, default=None)
    exited_on: Mapped[date | None] = mapped_column(Date, default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class ExitEventRecord(Base):
    """One step of an exit case: who moved it, when, and on what evidence."""

    __tablename__ = "exit_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("exit_case.id"), index=True)
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    on: Mapped[date] = mapped_column(Date)
    by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text, default=None)
    evidence: Mapped[str | None] = mapped_column(Text, default=None)  # JSON: minutes, notice
    run_id: Mapped[int | None] = mapped_column(ForeignKey("assessment_run.id"), default=None)


class MonitoringCaseRecord(Base):
    """防返贫监测: a household proposed for monitoring, its procedure and its clearance."""

    __tablename__ = "monitoring_case"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    category: Mapped[str] = mapped_column(String(24))  # MonitoringCategory
    risk_types: Mapped[str] = mapped_column(String(200))  # ';'-joined
    source: Mapped[str] = mapped_column(String(24))  # scan | shock | report
    run_id: Mapped[int | None] = mapped_column(ForeignKey("assessment_run.id"), default=None)
    state: Mapped[str] = mapped_column(String(24), index=True)  # MonitoringState
    opened_on: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date)
    notice_start: Mapped[date | None] = mapped_column(Date, default=None)
    notice_end: Mapped[date | None] = mapped_column(Date, default=None)
    identified_on: Mapped[date | None] = mapped_column(Date, default=None)
    cleared_on: Mapped[date | None] = mapped_column(Date, default=None)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id"), default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class MonitoringEventRecord(Base):
    __tablename__ = "monitoring_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("monitoring_case.id"), index=True)
    from_state: Mapped[str] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    on: Mapped[date] = mapped_column(Date)
    by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text, default=None)


class ShockEventRecord(Base):
    """A shock reported for a household (illness, disaster...): it opens a re-assessment."""

    __tablename__ = "shock_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # ShockKind
    occurred_on: Mapped[date] = mapped_column(Date)
    reported_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[float | None] = mapped_column(Numeric(14, 2, asdecimal=False), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    reported_by: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("monitoring_case.id"), default=None)
    reassess_by: Mapped[date] = mapped_column(Date)  # the re-assessment's deadline
