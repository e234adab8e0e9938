"""measure.indicator holds every indicator a measure answers (';'-joined)

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("measure", schema=None) as batch_op:
        batch_op.alter_column("indicator", existing_type=sa.String(length=32),
                              type_=sa.String(length=200), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("measure", schema=None) as batch_op:
        batch_op.alter_column("indicator", existing_type=sa.String(length=200),
                              type_=sa.String(length=32), existing_nullable=True)
