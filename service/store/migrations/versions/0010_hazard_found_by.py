"""hazards.found_by: who found a hidden danger (the enterprise's own 隐患排查, or an inspection)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 20:00:00

Rows loaded before this revision keep an empty ``found_by``: unknown, which the features count
as they always have.
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('hazards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('found_by', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('hazards', schema=None) as batch_op:
        batch_op.drop_column('found_by')
