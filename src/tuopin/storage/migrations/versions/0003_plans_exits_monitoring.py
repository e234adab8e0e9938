"""plans exits monitoring

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 05:54:56.906797
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "exit_case",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "household_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("notice_start", sa.Date(), nullable=True),
        sa.Column("notice_end", sa.Date(), nullable=True),
        sa.Column("exited_on", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_exit_case_household_id_household")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["assessment_run.id"], name=op.f("fk_exit_case_run_id_assessment_run")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exit_case")),
    )
    with op.batch_alter_table("exit_case", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exit_case_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_exit_case_state"), ["state"], unique=False)

    op.create_table(
        "plan",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "household_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("drafted_by", sa.String(length=64), nullable=False),
        sa.Column("drafted_on", sa.Date(), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("approved_on", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_plan_household_id_household")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["assessment_run.id"], name=op.f("fk_plan_run_id_assessment_run")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan")),
    )
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_household_id"), ["household_id"], unique=False)

    op.create_table(
        "exit_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["exit_case.id"], name=op.f("fk_exit_event_case_id_exit_case")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["assessment_run.id"], name=op.f("fk_exit_event_run_id_assessment_run")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exit_event")),
    )
    with op.batch_alter_table("exit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exit_event_case_id"), ["case_id"], unique=False)

    op.create_table(
        "measure",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("plan_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("indicator", sa.String(length=32), nullable=True),
        sa.Column("cause", sa.String(length=16), nullable=True),
        sa.Column("helper_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("unit", sa.String(length=128), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("budget", sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=False),
        sa.Column("funding_source", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("verifier", sa.String(length=64), nullable=True),
        sa.Column("verified_on", sa.Date(), nullable=True),
        sa.Column("delay_reason", sa.Text(), nullable=True),
        sa.Column("follow_up", sa.Text(), nullable=True),
        sa.Column("remeasure", sa.String(length=16), nullable=True),
        sa.Column(
            "remeasure_run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["helper_id"], ["helper.id"], name=op.f("fk_measure_helper_id_helper")
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], name=op.f("fk_measure_plan_id_plan")),
        sa.ForeignKeyConstraint(
            ["remeasure_run_id"],
            ["assessment_run.id"],
            name=op.f("fk_measure_remeasure_run_id_assessment_run"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure")),
    )
    with op.batch_alter_table("measure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_measure_due_date"), ["due_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_measure_helper_id"), ["helper_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_measure_plan_id"), ["plan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_measure_status"), ["status"], unique=False)

    op.create_table(
        "monitoring_case",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "household_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("risk_types", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=24), nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("notice_start", sa.Date(), nullable=True),
        sa.Column("notice_end", sa.Date(), nullable=True),
        sa.Column("identified_on", sa.Date(), nullable=True),
        sa.Column("cleared_on", sa.Date(), nullable=True),
        sa.Column("plan_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name=op.f("fk_monitoring_case_household_id_household"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plan.id"], name=op.f("fk_monitoring_case_plan_id_plan")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["assessment_run.id"], name=op.f("fk_monitoring_case_run_id_assessment_run")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_case")),
    )
    with op.batch_alter_table("monitoring_case", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_monitoring_case_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_monitoring_case_state"), ["state"], unique=False)

    op.create_table(
        "plan_revision",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("plan_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("changed_on", sa.Date(), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plan.id"], name=op.f("fk_plan_revision_plan_id_plan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_revision")),
    )
    with op.batch_alter_table("plan_revision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_revision_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "evidence",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "measure_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("uploaded_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["measure_id"], ["measure.id"], name=op.f("fk_evidence_measure_id_measure")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
    )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_measure_id"), ["measure_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_sha256"), ["sha256"], unique=False)

    op.create_table(
        "monitoring_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("from_state", sa.String(length=24), nullable=False),
        sa.Column("to_state", sa.String(length=24), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["monitoring_case.id"],
            name=op.f("fk_monitoring_event_case_id_monitoring_case"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_event")),
    )
    with op.batch_alter_table("monitoring_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_monitoring_event_case_id"), ["case_id"], unique=False)

    op.create_table(
        "shock_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "household_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("reported_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("reported_by", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("reassess_by", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["monitoring_case.id"], name=op.f("fk_shock_event_case_id_monitoring_case")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_shock_event_household_id_household")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shock_event")),
    )
    with op.batch_alter_table("shock_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shock_event_household_id"), ["household_id"], unique=False
        )

    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "helper_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_app_user_helper_id_helper"), "helper", ["helper_id"], ["id"]
        )

    # ### end Alembic commands ###


def downgrade() -> None:

    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_app_user_helper_id_helper"), type_="foreignkey")
        batch_op.drop_column("helper_id")

    with op.batch_alter_table("shock_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shock_event_household_id"))

    op.drop_table("shock_event")
    with op.batch_alter_table("monitoring_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monitoring_event_case_id"))

    op.drop_table("monitoring_event")
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_sha256"))
        batch_op.drop_index(batch_op.f("ix_evidence_measure_id"))

    op.drop_table("evidence")
    with op.batch_alter_table("plan_revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_revision_plan_id"))

    op.drop_table("plan_revision")
    with op.batch_alter_table("monitoring_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monitoring_case_state"))
        batch_op.drop_index(batch_op.f("ix_monitoring_case_household_id"))

    op.drop_table("monitoring_case")
    with op.batch_alter_table("measure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_measure_status"))
        batch_op.drop_index(batch_op.f("ix_measure_plan_id"))
        batch_op.drop_index(batch_op.f("ix_measure_helper_id"))
        batch_op.drop_index(batch_op.f("ix_measure_due_date"))

    op.drop_table("measure")
    with op.batch_alter_table("exit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exit_event_case_id"))

    op.drop_table("exit_event")
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_household_id"))

    op.drop_table("plan")
    with op.batch_alter_table("exit_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exit_case_state"))
        batch_op.drop_index(batch_op.f("ix_exit_case_household_id"))

    op.drop_table("exit_case")
    # ### end Alembic commands ###
