"""sealed chains: registry actions and decisions sealed and their heads signed with a key kept
outside the database; the decision ledger becomes a hash chain

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:00:00

Needs the signing key (``SAFECREDIT_SIGNING_KEY_FILE``, created on first use; migrations/env.py
configures it). Every existing registry action keeps its hash and gets its seal; the head is
signed and remembers how many rows were chained before this revision (their recorded times were
taken before the head was locked and may be out of order). The registry chain is verified first,
unkeyed, as it was: if it is already broken the upgrade is refused, naming the rows, rather than
sealing a tampered chain. Every existing decision is chained in the order it was decided
(``decided_at``, then ``decision_id``) and sealed; the ledger's head is signed.
"""

from alembic import op
import sqlalchemy as sa

from registry import seal
from registry.chain import canonical_values
from registry.hashchain import content_hash, head_fields
from service.engine.ledger import content


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

GENESIS = '0' * 64
TZ = sa.DateTime(timezone=True)
actions = sa.table(
    'registry_actions',
    *(sa.column(n, sa.Integer) for n in ('action_id', 'chain_seq', 'seq')),
    *(sa.column(n, sa.Text) for n in ('entry_id', 'action', 'actor', 'department', 'reason',
                                      'prev_hash', 'hash', 'seal')),
    sa.column('acted_on', sa.Date),
    sa.column('details', sa.JSON),
    sa.column('recorded_at', TZ),
)
heads = sa.table(
    'registry_chain',
    sa.column('chain_id', sa.Integer), sa.column('length', sa.Integer),
    sa.column('head_hash', sa.Text), sa.column('recorded_at', TZ),
    sa.column('legacy_length', sa.Integer), sa.column('key_id', sa.Text),
    sa.column('signature', sa.Text),
)
decisions = sa.table(
    'decisions',
    *(sa.column(n, sa.Text) for n in ('decision_id', 'kind', 'subject', 'key_id',
                                      'inputs_sha256', 'prev_hash', 'hash', 'seal')),
    *(sa.column(n, sa.JSON) for n in ('inputs', 'versions', 'output', 'reasons')),
    sa.column('decided_at', TZ),
    sa.column('chain_seq', sa.Integer),
)


def _registry(bind, sealer) -> None:
    rows = [dict(r) for r in bind.execute(
        sa.select(*(c for c in actions.c if c.name != 'seal')).order_by(actions.c.chain_seq)
    ).mappings()]
    problems, prev = [], GENESIS
    for i, r in enumerate(rows, 1):
        if r['chain_seq'] != i:
            problems.append(f"chain_seq {i}: missing (next row is {r['chain_seq']})")
            break
        if content_hash(canonical_values(r), r['prev_hash']) != r['hash']:
            problems.append(f"chain_seq {i} (action {r['action_id']}): edited")
        if r['prev_hash'] != prev:
            problems.append(f"chain_seq {i} (action {r['action_id']}): does not link to {i - 1}")
        prev = r['hash']
    length, tip = bind.execute(sa.select(heads.c.length, heads.c.head_hash)).one()
    if (length, tip) != (len(rows), prev):
        problems.append(f"head: says length {length}, rows end at {len(rows)}")
    if problems:
        raise RuntimeError(
            'refused: the registry chain is already broken, and sealing it would certify the '
            'tampering. Restore the registry tables from a backup, then upgrade again:\n  '
            + '\n  '.join(problems[:50])
        )
    with op.batch_alter_table('registry_actions') as batch:
        batch.add_column(sa.Column('seal', sa.String(length=64), nullable=True))
    with op.batch_alter_table('registry_chain') as batch:
        batch.add_column(sa.Column('recorded_at', TZ, nullable=True))
        batch.add_column(sa.Column('legacy_length', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('signature', sa.Text(), nullable=True))
    if rows:
        bind.execute(
            actions.update().where(actions.c.action_id == sa.bindparam('id'))
            .values(seal=sa.bindparam('s')),
            [{'id': r['action_id'], 's': sealer.seal('registry', r['chain_seq'], r['hash'])}
             for r in rows],
        )
    last = max((r['recorded_at'] for r in rows), default=None)
    fields = head_fields('registry', len(rows), prev, last, sealer.key_id,
                         legacy_length=len(rows))
    bind.execute(heads.update().values(
        recorded_at=last, legacy_length=len(rows), key_id=sealer.key_id,
        signature=sealer.mac(fields),
    ))
    with op.batch_alter_table('registry_actions') as batch:
        batch.alter_column('seal', existing_type=sa.String(length=64), nullable=False)
    with op.batch_alter_table('registry_chain') as batch:
        batch.alter_column('legacy_length', existing_type=sa.Integer(), nullable=False)
        batch.alter_column('key_id', existing_type=sa.String(length=16), nullable=False)
        batch.alter_column('signature', existing_type=sa.Text(), nullable=False)


def _ledger(bind, sealer) -> None:
    with op.batch_alter_table('decisions') as batch:
        batch.add_column(sa.Column('chain_seq', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('seal', sa.String(length=64), nullable=True))
    rows = [dict(r) for r in bind.execute(
        sa.select(*(c for c in decisions.c if c.name not in ('chain_seq', 'prev_hash', 'hash',
                                                              'seal')))
        .order_by(decisions.c.decided_at, decisions.c.decision_id)
    ).mappings()]
    prev, updates = GENESIS, []
    for i, r in enumerate(rows, 1):
        r.update(chain_seq=i, prev_hash=prev)
        prev = content_hash(content(r), prev)
        updates.append({'id': r['decision_id'], 'n': i, 'p': r['prev_hash'], 'h': prev,
                        's': sealer.seal('ledger', i, prev)})
    if updates:
        bind.execute(
            decisions.update().where(decisions.c.decision_id == sa.bindparam('id'))
            .values(chain_seq=sa.bindparam('n'), prev_hash=sa.bindparam('p'),
                    hash=sa.bindparam('h'), seal=sa.bindparam('s')),
            updates,
        )
    with op.batch_alter_table('decisions') as batch:
        for name, kind in (('chain_seq', sa.Integer()), ('prev_hash', sa.String(length=64)),
                           ('hash', sa.String(length=64)), ('seal', sa.String(length=64))):
            batch.alter_column(name, existing_type=kind, nullable=False)
        batch.create_unique_constraint(op.f('uq_decisions_chain_seq'), ['chain_seq'])
    op.create_table('ledger_chain',
    sa.Column('chain_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('length', sa.Integer(), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', TZ, nullable=True),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('signature', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('chain_id', name=op.f('pk_ledger_chain'))
    )
    at = max((r['decided_at'] for r in rows), default=None)
    fields = head_fields('ledger', len(rows), prev, at, sealer.key_id)
    bind.execute(sa.table(
        'ledger_chain', *(sa.column(n) for n in ('chain_id', 'length', 'head_hash', 'key_id',
                                                 'signature')), sa.column('recorded_at', TZ),
    ).insert().values(chain_id=1, length=len(rows), head_hash=prev, recorded_at=at,
                      key_id=sealer.key_id, signature=sealer.mac(fields)))


def upgrade() -> None:
    bind = op.get_bind()
    sealer = seal.current()
    _registry(bind, sealer)
    _ledger(bind, sealer)


def downgrade() -> None:
    op.drop_table('ledger_chain')
    with op.batch_alter_table('decisions') as batch:
        batch.drop_constraint(op.f('uq_decisions_chain_seq'), type_='unique')
        for name in ('seal', 'hash', 'prev_hash', 'chain_seq'):
            batch.drop_column(name)
    with op.batch_alter_table('registry_chain') as batch:
        for name in ('signature', 'key_id', 'legacy_length', 'recorded_at'):
            batch.drop_column(name)
    with op.batch_alter_table('registry_actions') as batch:
        batch.drop_column('seal')
