"""assessment_rollup (a run's figures per region and level) and login_failure

Revision ID: 0006
Revises: 0005

Runs stored before this revision get their roll-up here, so dashboards never aggregate
results on a request.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assessment_rollup",
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("poor_households", sa.Integer(), nullable=False),
        sa.Column("poor_people", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["assessment_run.id"],
                                name=op.f("fk_assessment_rollup_run_id_assessment_run")),
        sa.PrimaryKeyConstraint("run_id", "level", "region_code",
                                name=op.f("pk_assessment_rollup")),
    )
    op.create_table(
        "login_failure",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failure")),
    )
    op.create_index("ix_login_failure_key", "login_failure", ["username", "address", "at"])
    # Roll up the runs already stored: villages from the results, then each level above.
    op.execute(
        "INSERT INTO assessment_rollup (run_id, level, region_code, households, people, "
        "poor_households, poor_people) "
        "SELECT run_id, 5, village_code, count(*), coalesce(sum(members), 0), "
        "coalesce(sum(CASE WHEN poor THEN 1 ELSE 0 END), 0), "
        "coalesce(sum(CASE WHEN poor THEN members ELSE 0 END), 0) "
        "FROM assessment_result GROUP BY run_id, village_code")
    for level, digits in ((4, 9), (3, 6), (2, 4), (1, 2)):
        zeros = "0" * (12 - digits)
        op.execute(
            "INSERT INTO assessment_rollup (run_id, level, region_code, households, people, "
            "poor_households, poor_people) "
            f"SELECT run_id, {level}, substr(region_code, 1, {digits}) || '{zeros}', "
            "sum(households), sum(people), sum(poor_households), sum(poor_people) "
            "FROM assessment_rollup WHERE level = 5 "
            f"GROUP BY run_id, substr(region_code, 1, {digits})")


def downgrade() -> None:
    op.drop_index("ix_login_failure_key", table_name="login_failure")
    op.drop_table("login_failure")
    op.drop_table("assessment_rollup")
