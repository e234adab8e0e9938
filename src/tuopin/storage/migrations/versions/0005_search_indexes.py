"""PostgreSQL prefix-search indexes on household.number and member.name

Revision ID: 0005
Revises: 0004

A btree under a non-C collation cannot serve LIKE 'x%'; varchar_pattern_ops can. SQLite needs
nothing: its LIKE prefix uses the plain indexes already there. These indexes exist only on
PostgreSQL, so the models do not declare them (tests/storage/test_migrations.py knows).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PATTERN_INDEXES = {
    "ix_household_number_pattern": ("household", "number"),
    "ix_member_name_pattern": ("member", "name"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (table, column) in PATTERN_INDEXES.items():
        op.create_index(name, table, [column], postgresql_ops={column: "varchar_pattern_ops"})


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (table, _column) in PATTERN_INDEXES.items():
        op.drop_index(name, table_name=table)
