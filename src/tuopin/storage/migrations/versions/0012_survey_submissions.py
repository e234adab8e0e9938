"""survey_submission (where a survey collected on a phone came from: ODK Central, Kobo)

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('survey_submission',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('instance_id', sa.String(length=100), nullable=False),
    sa.Column('household_id', BigId, nullable=False),
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('current_id', sa.String(length=100), nullable=True),
    sa.Column('form_id', sa.String(length=100), nullable=True),
    sa.Column('form_version', sa.String(length=100), nullable=True),
    sa.Column('submitter', sa.String(length=100), nullable=True),
    sa.Column('submitted_at', sa.String(length=40), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'],
                            name=op.f('fk_survey_submission_household_id_household')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_submission')),
    sa.UniqueConstraint('household_id', 'year',
                        name=op.f('uq_survey_submission_household_id')),
    sa.UniqueConstraint('instance_id', name=op.f('uq_survey_submission_instance_id')))
    op.create_index(op.f('ix_survey_submission_household_id'), 'survey_submission',
                    ['household_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_survey_submission_household_id'), table_name='survey_submission')
    op.drop_table('survey_submission')
