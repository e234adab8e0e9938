"""registry

Revision ID: 0001
Revises:
Create Date: 2026-11-29 05:06:59.112627
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index("ix_audit_event_entity", ["entity", "entity_id"], unique=False)

    op.create_table(
        "audit_head",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "helper",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=128), nullable=False),
        sa.Column("post", sa.String(length=64), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_helper")),
        sa.UniqueConstraint("number", name=op.f("uq_helper_number")),
    )
    op.create_table(
        "region",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("parent_code", sa.String(length=12), nullable=True),
        sa.Column("western", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_code"], ["region.code"], name=op.f("fk_region_parent_code_region")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_region")),
    )
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_region_parent_code"), ["parent_code"], unique=False)

    op.create_table(
        "app_user",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_code"], ["region.code"], name=op.f("fk_app_user_region_code_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("username", name=op.f("uq_app_user_username")),
    )
    op.create_table(
        "household",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=True),
        sa.Column("main_cause", sa.String(length=16), nullable=True),
        sa.Column("other_causes", sa.String(length=200), nullable=True),
        sa.Column("year_identified", sa.SmallInteger(), nullable=True),
        sa.Column("year_exited", sa.SmallInteger(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("bank_account", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["village_code"], ["region.code"], name=op.f("fk_household_village_code_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household")),
        sa.UniqueConstraint("number", name=op.f("uq_household_number")),
    )
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_household_village_code"), ["village_code"], unique=False
        )

    op.create_table(
        "helper_assignment",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "helper_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "household_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["helper_id"], ["helper.id"], name=op.f("fk_helper_assignment_helper_id_helper")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name=op.f("fk_helper_assignment_household_id_household"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_helper_assignment")),
        sa.UniqueConstraint(
            "helper_id", "household_id", name=op.f("uq_helper_assignment_helper_id")
        ),
    )
    with op.batch_alter_table("helper_assignment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_helper_assignment_helper_id"), ["helper_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_helper_assignment_household_id"), ["household_id"], unique=False
        )

    op.create_table(
        "member",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "household_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("sex", sa.String(length=8), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("ethnicity", sa.String(length=16), nullable=True),
        sa.Column("education", sa.String(length=16), nullable=True),
        sa.Column("schooling_status", sa.String(length=16), nullable=True),
        sa.Column("health", sa.String(length=16), nullable=True),
        sa.Column("disability_grade", sa.SmallInteger(), nullable=True),
        sa.Column("labour", sa.String(length=16), nullable=True),
        sa.Column("months_worked_away", sa.SmallInteger(), nullable=True),
        sa.Column("medical_insurance", sa.Boolean(), nullable=True),
        sa.Column("critical_illness_insurance", sa.Boolean(), nullable=True),
        sa.Column("pension_insurance", sa.Boolean(), nullable=True),
        sa.Column("dibao", sa.Boolean(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("deceased_date", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_member_household_id_household")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member")),
        sa.UniqueConstraint("id_number", name=op.f("uq_member_id_number")),
    )
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_member_name"), ["name"], unique=False)

    op.create_table(
        "survey",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "household_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("household_size", sa.SmallInteger(), nullable=False),
        sa.Column("wage_income", sa.Float(), nullable=True),
        sa.Column("production_income", sa.Float(), nullable=True),
        sa.Column("property_income", sa.Float(), nullable=True),
        sa.Column("transfer_income", sa.Float(), nullable=True),
        sa.Column("production_costs", sa.Float(), nullable=True),
        sa.Column("medical_expenses", sa.Float(), nullable=True),
        sa.Column("food_secure", sa.Boolean(), nullable=False),
        sa.Column("clothing_secure", sa.Boolean(), nullable=False),
        sa.Column("housing_grade", sa.String(length=1), nullable=False),
        sa.Column("water_quantity_lpd", sa.Float(), nullable=True),
        sa.Column("water_piped", sa.Boolean(), nullable=True),
        sa.Column("water_trip_minutes", sa.Float(), nullable=True),
        sa.Column("water_outage_days", sa.SmallInteger(), nullable=True),
        sa.Column("water_quality_ok", sa.Boolean(), nullable=True),
        sa.Column("water_scarce_area", sa.Boolean(), nullable=True),
        sa.Column("collected_by", sa.String(length=64), nullable=True),
        sa.Column("collected_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_survey_household_id_household")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey")),
        sa.UniqueConstraint("household_id", "year", name=op.f("uq_survey_household_id")),
    )
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_year"), ["year"], unique=False)

    # ### end Alembic commands ###
    op.bulk_insert(
        sa.table(
            "audit_head",
            sa.column("id", sa.SmallInteger),
            sa.column("last_id", sa.BigInteger),
            sa.column("last_hash", sa.String),
        ),
        [{"id": 1, "last_id": 0, "last_hash": "0" * 64}],
    )


def downgrade() -> None:
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_year"))
        batch_op.drop_index(batch_op.f("ix_survey_household_id"))

    op.drop_table("survey")
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_name"))
        batch_op.drop_index(batch_op.f("ix_member_household_id"))

    op.drop_table("member")
    with op.batch_alter_table("helper_assignment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_helper_assignment_household_id"))
        batch_op.drop_index(batch_op.f("ix_helper_assignment_helper_id"))

    op.drop_table("helper_assignment")
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_village_code"))

    op.drop_table("household")
    op.drop_table("app_user")
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_region_parent_code"))

    op.drop_table("region")
    op.drop_table("helper")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_entity")

    op.drop_table("audit_event")
    # ### end Alembic commands ###
