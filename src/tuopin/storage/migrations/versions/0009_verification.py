"""verification_plan, verification_sample, verification_finding (independent verification:
plans with their seed and hashes, the households drawn, what the verifiers found)

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('verification_plan',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True,
              nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('margin', sa.Float(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('deff', sa.Float(), nullable=False),
    sa.Column('p', sa.Float(), nullable=False),
    sa.Column('villages', sa.Integer(), nullable=True),
    sa.Column('sizes', sa.Text(), nullable=True),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('design', sa.Text(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('frame_hash', sa.String(length=64), nullable=True),
    sa.Column('frame', sa.LargeBinary(), nullable=True),
    sa.Column('sample_hash', sa.String(length=64), nullable=True),
    sa.Column('sample_size', sa.Integer(), nullable=True),
    sa.Column('planned_by', sa.String(length=64), nullable=False),
    sa.Column('planned_on', sa.Date(), nullable=False),
    sa.Column('drawn_by', sa.String(length=64), nullable=True),
    sa.Column('drawn_on', sa.Date(), nullable=True),
    sa.Column('released_by', sa.String(length=64), nullable=True),
    sa.Column('released_on', sa.Date(), nullable=True),
    sa.Column('closed_by', sa.String(length=64), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'],
                            name=op.f('fk_verification_plan_region_code_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verification_plan'))
    )
    with op.batch_alter_table('verification_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verification_plan_region_code'),
                              ['region_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_verification_plan_state'), ['state'], unique=False)

    op.create_table('verification_sample',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True,
              nullable=False),
    sa.Column('plan_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('household_number', sa.String(length=32), nullable=False),
    sa.Column('village_code', sa.String(length=12), nullable=False),
    sa.Column('township_code', sa.String(length=12), nullable=False),
    sa.Column('frame', sa.String(length=16), nullable=False),
    sa.Column('stratum', sa.String(length=32), nullable=False),
    sa.Column('variance_stratum', sa.String(length=16), nullable=False),
    sa.Column('psu', sa.String(length=32), nullable=False),
    sa.Column('pi_village', sa.Float(), nullable=False),
    sa.Column('pi_household', sa.Float(), nullable=False),
    sa.Column('probability', sa.Float(), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'],
                            name=op.f('fk_verification_sample_household_id_household')),
    sa.ForeignKeyConstraint(['plan_id'], ['verification_plan.id'],
                            name=op.f('fk_verification_sample_plan_id_verification_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verification_sample')),
    sa.UniqueConstraint('plan_id', 'household_id', name=op.f('uq_verification_sample_plan_id'))
    )
    with op.batch_alter_table('verification_sample', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verification_sample_household_id'),
                              ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_verification_sample_plan_id'),
                              ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_verification_sample_village_code'),
                              ['village_code'], unique=False)

    op.create_table('verification_finding',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True,
              nullable=False),
    sa.Column('plan_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sample_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('visited', sa.Boolean(), nullable=False),
    sa.Column('not_visited_reason', sa.String(length=16), nullable=True),
    sa.Column('visited_on', sa.Date(), nullable=True),
    sa.Column('household_size', sa.SmallInteger(), nullable=True),
    sa.Column('wage_income', sa.Float(), nullable=True),
    sa.Column('production_income', sa.Float(), nullable=True),
    sa.Column('property_income', sa.Float(), nullable=True),
    sa.Column('transfer_income', sa.Float(), nullable=True),
    sa.Column('production_costs', sa.Float(), nullable=True),
    sa.Column('medical_expenses', sa.Float(), nullable=True),
    sa.Column('food_secure', sa.Boolean(), nullable=True),
    sa.Column('clothing_secure', sa.Boolean(), nullable=True),
    sa.Column('schooling_secure', sa.Boolean(), nullable=True),
    sa.Column('medical_secure', sa.Boolean(), nullable=True),
    sa.Column('housing_grade', sa.String(length=1), nullable=True),
    sa.Column('water_quantity_lpd', sa.Float(), nullable=True),
    sa.Column('water_piped', sa.Boolean(), nullable=True),
    sa.Column('water_trip_minutes', sa.Float(), nullable=True),
    sa.Column('water_outage_days', sa.SmallInteger(), nullable=True),
    sa.Column('water_quality_ok', sa.Boolean(), nullable=True),
    sa.Column('water_scarce_area', sa.Boolean(), nullable=True),
    sa.Column('judgement', sa.String(length=16), nullable=True),
    sa.Column('approval', sa.Boolean(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_on', sa.Date(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['verification_plan.id'],
                            name=op.f('fk_verification_finding_plan_id_verification_plan')),
    sa.ForeignKeyConstraint(['sample_id'], ['verification_sample.id'],
                            name=op.f('fk_verification_finding_sample_id_verification_sample')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verification_finding')),
    sa.UniqueConstraint('sample_id', name=op.f('uq_verification_finding_sample_id'))
    )
    with op.batch_alter_table('verification_finding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verification_finding_plan_id'),
                              ['plan_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('verification_finding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verification_finding_plan_id'))

    op.drop_table('verification_finding')
    with op.batch_alter_table('verification_sample', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verification_sample_village_code'))
        batch_op.drop_index(batch_op.f('ix_verification_sample_plan_id'))
        batch_op.drop_index(batch_op.f('ix_verification_sample_household_id'))

    op.drop_table('verification_sample')
    with op.batch_alter_table('verification_plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verification_plan_state'))
        batch_op.drop_index(batch_op.f('ix_verification_plan_region_code'))

    op.drop_table('verification_plan')
