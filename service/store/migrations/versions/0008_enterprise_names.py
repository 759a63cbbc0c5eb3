"""enterprise names: indexes for the approval-office desk's lookup by name

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 19:40:00

A B-tree on ``enterprises.name`` (a prefix lookup is a range scan on it, on every backend); on
PostgreSQL also a trigram GIN index (``pg_trgm``), so that a name *containing* the words asked
is found without reading the table. The extension is created if it is missing; where it already
exists (in whichever schema) its operator class is used from there.
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def _trigram_schema() -> str:
    bind = op.get_bind()
    found = bind.execute(sa.text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'"
    )).scalar()
    if found is None:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        found = "public"
    return str(found)


def upgrade() -> None:
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.create_index('ix_enterprises_name', ['name'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        schema = _trigram_schema()
        op.execute(
            "CREATE INDEX ix_enterprises_name_trgm ON enterprises "
            f"USING gin (name {schema}.gin_trgm_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP INDEX IF EXISTS ix_enterprises_name_trgm")
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.drop_index('ix_enterprises_name')
