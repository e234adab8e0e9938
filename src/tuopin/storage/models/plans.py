"""一户一策: plans, their measures (the 对账销号 ledger), evidence files and revisions."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tuopin.storage.models.base import Base, BigId


class PlanRecord(Base):
    """One household's plan, drafted from an assessment run and approved by a person."""

    __tablename__ = "plan"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("assessment_run.id"), default=None)
    status: Mapped[str] = mapped_column(String(16))  # PlanStatus
    drafted_by: Mapped[str] = mapped_column(String(64))
    drafted_on: Mapped[date] = mapped_column(Date)
    approved_by: Mapped[str | None] = mapped_column(String(64), default=None)
    approved_on: Mapped[date | None] = mapped_column(Date, default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)

    measures: Mapped[list[MeasureRecord]] = relationship(
        back_populates="plan", order_by="MeasureRecord.id"
    )

    __mapper_args__ = {"version_id_col": version}


class MeasureRecord(Base):
    """帮扶措施: who does what by when with how much money, and how it was checked off."""

    __tablename__ = "measure"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # MeasureKind
    content: Mapped[str] = mapped_column(Text)
    indicator: Mapped[str | None] = mapped_column(String(200), default=None)  # ids, ";"-joined
    cause: Mapped[str | None] = mapped_column(String(16), default=None)
    helper_id: Mapped[int | None] = mapped_column(ForeignKey("helper.id"), index=True,
                                                  default=None)
    unit: Mapped[str | None] = mapped_column(String(128), default=None)
    due_date: Mapped[date] = mapped_column(Date, index=True)
    budget: Mapped[float] = mapped_column(Numeric(14, 2, asdecimal=False), default=0)
    funding_source: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(16), index=True)  # MeasureStatus
    cancel_reason: Mapped[str | None] = mapped_column(Text, default=None)
    completed_on: Mapped[date | None] = mapped_column(Date, default=None)
    verifier: Mapped[str | None] = mapped_column(String(64), default=None)
    verified_on: Mapped[date | None] = mapped_column(Date, default=None)
    delay_reason: Mapped[str | None] = mapped_column(Text, default=None)  # 查明原因
    follow_up: Mapped[str | None] = mapped_column(Text, default=None)  # 问责 follow-up action
    remeasure: Mapped[str | None] = mapped_column(String(16), default=None)  # confirmed|review
    remeasure_run_id: Mapped[int | None] = mapped_column(ForeignKey("assessment_run.id"),
                                                         default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)

    plan: Mapped[PlanRecord] = relationship(back_populates="measures")
    evidence: Mapped[list[EvidenceRecord]] = relationship(order_by="EvidenceRecord.id")

    __mapper_args__ = {"version_id_col": version}


class EvidenceRecord(Base):
    """A file that shows a measure was delivered, stored by its SHA-256."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_on: Mapped[date] = mapped_column(Date)


class PlanRevisionRecord(Base):
    """动态调整: one change to an approved plan, with who, when, why, before and after."""

    __tablename__ = "plan_revision"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    changed_on: Mapped[date] = mapped_column(Date)
    changed_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    before: Mapped[str | None] = mapped_column(Text, default=None)  # JSON
    after: Mapped[str | None] = mapped_column(Text, default=None)  # JSON
