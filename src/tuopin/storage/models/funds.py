"""The books of funds: funds, projects, what each fund gives each project, and payments.

Every amount is integer fen (BigInteger): a province's payments add up far beyond what a
float keeps exact. A payment is never changed: a wrong one is reversed by a payment of the
opposite amount that names it (``reverses_id``, unique: reversed once), and paid again.
The payee is kept as typed (an ID number and/or a household number), not as a key into the
registry: a payee outside the registry is exactly what the checks must find.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tuopin.storage.models.base import Base, BigId


class FundRecord(Base):
    __tablename__ = "fund"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(16))  # FundSource
    year: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)  # fen
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    received_on: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)


class ProjectRecord(Base):
    __tablename__ = "project"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # ProjectKind
    budget: Mapped[int] = mapped_column(BigInteger)  # fen
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # ProjectStatus
    closed_on: Mapped[date | None] = mapped_column(Date, default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)


class AllocationRecord(Base):
    __tablename__ = "allocation"
    __table_args__ = (UniqueConstraint("fund_id", "project_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("fund.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # fen
    allocated_on: Mapped[date] = mapped_column(Date)


class DisbursementRecord(Base):
    __tablename__ = "disbursement"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    payee_id_number: Mapped[str | None] = mapped_column(String(18), index=True, default=None)
    payee_household: Mapped[str | None] = mapped_column(String(32), index=True, default=None)
    amount: Mapped[int] = mapped_column(BigInteger)  # fen; negative for a reversal
    paid_on: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(16))  # PaymentChannel
    account: Mapped[str | None] = mapped_column(String(40), default=None)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("disbursement.id"),
                                                    unique=True, default=None)
