"""notify: watchlists of USCCs, the events outbox with its gapless head, webhook subscriptions,
their deliveries and attempts, and the marks of what was last announced

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10 10:00:00

Nothing existing changes. Events start with the changes made after this revision: the registry's
earlier actions are not replayed as events (a watcher reads the registry for what was before).
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notify_head',
    sa.Column('head_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('length', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('head_id', name=op.f('pk_notify_head'))
    )
    op.bulk_insert(sa.table('notify_head', sa.column('head_id'), sa.column('length')),
                   [{'head_id': 1, 'length': 0}])
    op.create_table('notify_events',
    sa.Column('event_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=True),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('audience', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('dedupe', sa.String(length=160), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('due_settled', sa.Boolean(), nullable=False),
    sa.Column('fanned_out', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_notify_events')),
    sa.UniqueConstraint('dedupe', name=op.f('uq_notify_events_dedupe'))
    )
    with op.batch_alter_table('notify_events', schema=None) as batch_op:
        batch_op.create_index('ix_notify_events_uscc', ['uscc', 'event_id'], unique=False)
        batch_op.create_index('ix_notify_events_due', ['due_settled', 'due_on'], unique=False)
        batch_op.create_index('ix_notify_events_fanned', ['fanned_out', 'event_id'], unique=False)
    op.create_table('watchlists',
    sa.Column('watchlist_id', sa.String(length=32), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['key_id'], ['api_keys.key_id'],
                            name=op.f('fk_watchlists_key_id_api_keys')),
    sa.PrimaryKeyConstraint('watchlist_id', name=op.f('pk_watchlists')),
    sa.UniqueConstraint('key_id', 'name', name='uq_watchlists_key_id_name')
    )
    op.create_table('watchlist_codes',
    sa.Column('watchlist_id', sa.String(length=32), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.ForeignKeyConstraint(['watchlist_id'], ['watchlists.watchlist_id'],
                            name=op.f('fk_watchlist_codes_watchlist_id_watchlists'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('watchlist_id', 'uscc', name=op.f('pk_watchlist_codes'))
    )
    with op.batch_alter_table('watchlist_codes', schema=None) as batch_op:
        batch_op.create_index('ix_watchlist_codes_uscc', ['uscc'], unique=False)
    op.create_table('notify_subscriptions',
    sa.Column('subscription_id', sa.String(length=32), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('after_event', sa.Integer(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['key_id'], ['api_keys.key_id'],
                            name=op.f('fk_notify_subscriptions_key_id_api_keys')),
    sa.PrimaryKeyConstraint('subscription_id', name=op.f('pk_notify_subscriptions'))
    )
    with op.batch_alter_table('notify_subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_notify_subscriptions_key_id', ['key_id'], unique=False)
    op.create_table('notify_deliveries',
    sa.Column('delivery_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('subscription_id', sa.String(length=32), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('leased_by', sa.String(length=64), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['notify_events.event_id'],
                            name=op.f('fk_notify_deliveries_event_id_notify_events')),
    sa.ForeignKeyConstraint(['subscription_id'], ['notify_subscriptions.subscription_id'],
                            name=op.f('fk_notify_deliveries_subscription_id_notify_subscriptions')),
    sa.PrimaryKeyConstraint('delivery_id', name=op.f('pk_notify_deliveries')),
    sa.UniqueConstraint('subscription_id', 'event_id',
                        name='uq_notify_deliveries_subscription_id_event_id')
    )
    with op.batch_alter_table('notify_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_notify_deliveries_due', ['state', 'next_attempt_at'],
                              unique=False)
        batch_op.create_index('ix_notify_deliveries_order', ['subscription_id', 'uscc', 'event_id'],
                              unique=False)
    op.create_table('notify_attempts',
    sa.Column('attempt_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('milliseconds', sa.Integer(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['delivery_id'], ['notify_deliveries.delivery_id'],
                            name=op.f('fk_notify_attempts_delivery_id_notify_deliveries')),
    sa.PrimaryKeyConstraint('attempt_id', name=op.f('pk_notify_attempts'))
    )
    with op.batch_alter_table('notify_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_notify_attempts_delivery_id', ['delivery_id'], unique=False)
    op.create_table('notify_marks',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_notify_marks'))
    )
    op.create_table('notify_grades',
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('grade', sa.String(length=4), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('uscc', name=op.f('pk_notify_grades'))
    )


def downgrade() -> None:
    op.drop_table('notify_grades')
    op.drop_table('notify_marks')
    op.drop_table('notify_attempts')
    op.drop_table('notify_deliveries')
    op.drop_table('notify_subscriptions')
    op.drop_table('watchlist_codes')
    op.drop_table('watchlists')
    op.drop_table('notify_events')
    op.drop_table('notify_head')
