"""attachments: files an enterprise attaches to an objection or a repair application, kept in
the database with their sha256 (the hash also sits in the action's details, under the chain)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 19:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('registry_attachments',
    sa.Column('attachment_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('entry_id', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.Text(), nullable=False),
    sa.Column('media_type', sa.String(length=32), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['registry_entries.entry_id'],
                            name=op.f('fk_registry_attachments_entry_id_registry_entries')),
    sa.PrimaryKeyConstraint('attachment_id', name=op.f('pk_registry_attachments')),
    sa.UniqueConstraint('entry_id', 'seq', 'sha256',
                        name='uq_registry_attachments_entry_id_seq_sha256')
    )
    with op.batch_alter_table('registry_attachments', schema=None) as batch_op:
        batch_op.create_index('ix_registry_attachments_entry_id_sha256', ['entry_id', 'sha256'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('registry_attachments', schema=None) as batch_op:
        batch_op.drop_index('ix_registry_attachments_entry_id_sha256')
    op.drop_table('registry_attachments')
