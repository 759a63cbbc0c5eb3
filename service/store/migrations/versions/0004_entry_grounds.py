"""registry entries: one per penalty decision, with every rule it meets as its grounds

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 16:50:00

Existing entries keep every column and action: each gets the one ground it was made with
(its rule, evidence and event date). Entries made before this revision for one penalty decision
under several rules stay separate entries (their actions are history); from now on a penalty
decision gives one entry per list and enterprise.
"""

import json

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('registry_entries') as batch:
        batch.add_column(sa.Column('grounds', sa.JSON(), nullable=True))
        batch.create_index('ix_registry_entries_penalty', ['penalty_decision_id'])
    bind = op.get_bind()
    entries = sa.table(
        'registry_entries',
        sa.column('entry_id', sa.String),
        sa.column('rule', sa.String),
        sa.column('evidence', sa.JSON),
        sa.column('event_on', sa.Date),
        sa.column('grounds', sa.JSON),
    )
    rows = bind.execute(
        sa.select(entries.c.entry_id, entries.c.rule, entries.c.evidence, entries.c.event_on)
    ).all()
    for entry_id, rule, evidence, event_on in rows:
        if isinstance(evidence, str):
            evidence = json.loads(evidence)
        ground = {'rule': rule, 'evidence': evidence, 'event_on': event_on.isoformat()}
        bind.execute(
            entries.update().where(entries.c.entry_id == entry_id).values(grounds=[ground])
        )
    with op.batch_alter_table('registry_entries') as batch:
        batch.alter_column('grounds', existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('registry_entries') as batch:
        batch.drop_index('ix_registry_entries_penalty')
        batch.drop_column('grounds')
