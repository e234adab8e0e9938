"""fund, project, allocation, disbursement (the books of funds, amounts in fen) and
helper.id_number (for the conflict-of-interest rule)

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('fund',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True,
              nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'],
                            name=op.f('fk_fund_region_code_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fund')),
    sa.UniqueConstraint('number', name=op.f('uq_fund_number'))
    )
    with op.batch_alter_table('fund', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fund_region_code'), ['region_code'], unique=False)

    op.create_table('project',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True,
              nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('budget', sa.BigInteger(), nullable=False),
    sa.Column('start_on', sa.Date(), nullable=False),
    sa.Column('end_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'],
                            name=op.f('fk_project_region_code_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project')),
    sa.UniqueConstraint('number', name=op.f('uq_project_number'))
    )
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_region_code'), ['region_code'], unique=False)

    op.create_table('allocation',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True,
              nullable=False),
    sa.Column('fund_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('allocated_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['fund_id'], ['fund.id'], name=op.f('fk_allocation_fund_id_fund')),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'],
                            name=op.f('fk_allocation_project_id_project')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation')),
    sa.UniqueConstraint('fund_id', 'project_id', name=op.f('uq_allocation_fund_id'))
    )
    with op.batch_alter_table('allocation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocation_fund_id'), ['fund_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_allocation_project_id'), ['project_id'], unique=False)

    op.create_table('disbursement',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True,
              nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('payee_id_number', sa.String(length=18), nullable=True),
    sa.Column('payee_household', sa.String(length=32), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('account', sa.String(length=40), nullable=True),
    sa.Column('reverses_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'],
                            name=op.f('fk_disbursement_project_id_project')),
    sa.ForeignKeyConstraint(['reverses_id'], ['disbursement.id'],
                            name=op.f('fk_disbursement_reverses_id_disbursement')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disbursement')),
    sa.UniqueConstraint('number', name=op.f('uq_disbursement_number')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_disbursement_reverses_id'))
    )
    with op.batch_alter_table('disbursement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disbursement_payee_household'), ['payee_household'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_disbursement_payee_id_number'), ['payee_id_number'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_disbursement_project_id'), ['project_id'],
                              unique=False)

    with op.batch_alter_table('helper', schema=None) as batch_op:
        batch_op.add_column(sa.Column('id_number', sa.String(length=18), nullable=True))
        batch_op.create_index(batch_op.f('ix_helper_id_number'), ['id_number'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('helper', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_helper_id_number'))
        batch_op.drop_column('id_number')

    with op.batch_alter_table('disbursement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disbursement_project_id'))
        batch_op.drop_index(batch_op.f('ix_disbursement_payee_id_number'))
        batch_op.drop_index(batch_op.f('ix_disbursement_payee_household'))

    op.drop_table('disbursement')
    with op.batch_alter_table('allocation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocation_project_id'))
        batch_op.drop_index(batch_op.f('ix_allocation_fund_id'))

    op.drop_table('allocation')
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_region_code'))

    op.drop_table('project')
    with op.batch_alter_table('fund', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fund_region_code'))

    op.drop_table('fund')
