"""registry tables: entries, the action chain and its head

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 21:58:27.866834
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('registry_chain',
    sa.Column('chain_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('length', sa.Integer(), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('chain_id', name=op.f('pk_registry_chain'))
    )
    op.create_table('registry_entries',
    sa.Column('entry_id', sa.String(length=32), nullable=False),
    sa.Column('identity', sa.String(length=64), nullable=False),
    sa.Column('list_type', sa.String(length=32), nullable=False),
    sa.Column('policy_id', sa.String(length=32), nullable=False),
    sa.Column('policy_version', sa.String(length=32), nullable=False),
    sa.Column('policy_sha256', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=8), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('department', sa.Text(), nullable=False),
    sa.Column('penalty_decision_id', sa.String(length=64), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('persons', sa.JSON(), nullable=False),
    sa.Column('event_on', sa.Date(), nullable=False),
    sa.Column('evaluated_as_of', sa.Date(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('entry_id', name=op.f('pk_registry_entries')),
    sa.UniqueConstraint('identity', name=op.f('uq_registry_entries_identity'))
    )
    with op.batch_alter_table('registry_entries', schema=None) as batch_op:
        batch_op.create_index('ix_registry_entries_uscc', ['uscc'], unique=False)

    op.create_table('registry_actions',
    sa.Column('action_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('chain_seq', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('acted_on', sa.Date(), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('department', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['registry_entries.entry_id'], name=op.f('fk_registry_actions_entry_id_registry_entries')),
    sa.PrimaryKeyConstraint('action_id', name=op.f('pk_registry_actions')),
    sa.UniqueConstraint('chain_seq', name=op.f('uq_registry_actions_chain_seq')),
    sa.UniqueConstraint('entry_id', 'seq', name='uq_registry_actions_entry_id_seq')
    )
    # The chain starts empty: length 0, head = the genesis hash.
    chain = sa.table(
        'registry_chain', sa.column('chain_id', sa.Integer), sa.column('length', sa.Integer),
        sa.column('head_hash', sa.String),
    )
    op.bulk_insert(chain, [{'chain_id': 1, 'length': 0, 'head_hash': '0' * 64}])


def downgrade() -> None:
    op.drop_table('registry_actions')
    with op.batch_alter_table('registry_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_registry_entries_uscc')

    op.drop_table('registry_entries')
    op.drop_table('registry_chain')
