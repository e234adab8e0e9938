"""PostgreSQL: member.name keeps only its prefix-search index

Revision ID: 0013
Revises: 0012

Migration 0005 gave member.name a varchar_pattern_ops index for LIKE 'x%'. Such an index
serves equality too (its operator class has =), and nothing orders members by name, so on
PostgreSQL the plain ix_member_name only cost upkeep: a million members' first load spent
1.1 s of its ~14 s building it. SQLite keeps it: there it is what serves the prefix search.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_member_name", table_name="member")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index("ix_member_name", "member", ["name"])
