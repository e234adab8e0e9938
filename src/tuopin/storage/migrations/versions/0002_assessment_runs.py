"""assessment runs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 05:33:49.685513
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "assessment_run",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("standard_name", sa.String(length=64), nullable=False),
        sa.Column("standard_version", sa.String(length=32), nullable=False),
        sa.Column("standard_hash", sa.String(length=64), nullable=False),
        sa.Column("standard_text", sa.Text(), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("engine", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=12), nullable=True),
        sa.Column("snapshot_at", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("poor_households", sa.Integer(), nullable=False),
        sa.Column("poor_members", sa.Integer(), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("timings", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_run")),
    )
    op.create_table(
        "assessment_result",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "household_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("household_number", sa.String(length=32), nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("members", sa.SmallInteger(), nullable=False),
        sa.Column("income_per_capita", sa.Float(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("poor", sa.Boolean(), nullable=False),
        sa.Column("deprived", sa.String(length=400), nullable=False),
        sa.Column("categories", sa.String(length=200), nullable=False),
        sa.Column("facts", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name=op.f("fk_assessment_result_household_id_household"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["assessment_run.id"],
            name=op.f("fk_assessment_result_run_id_assessment_run"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_result")),
        sa.UniqueConstraint("run_id", "household_id", name=op.f("uq_assessment_result_run_id")),
    )
    with op.batch_alter_table("assessment_result", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assessment_result_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_assessment_result_run_id"), ["run_id"], unique=False)

    # ### end Alembic commands ###


def downgrade() -> None:

    with op.batch_alter_table("assessment_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_result_run_id"))
        batch_op.drop_index(batch_op.f("ix_assessment_result_household_id"))

    op.drop_table("assessment_result")
    op.drop_table("assessment_run")
    # ### end Alembic commands ###
