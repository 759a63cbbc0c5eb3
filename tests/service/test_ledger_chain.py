"""The decision ledger's sealed hash chain: verify names every decision edited (in any column),
deleted, reordered, re-hashed without the key, garbled, a tail cut after a checkpoint; a replay
refuses a tampered decision; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from registry.hashchain import content_hash
from service.engine import ledger
from service.engine.ledger_chain import row_problems, take_checkpoint, verify
from service.store.tables import Decision, LedgerHead


def _append(session: Session, n: int = 3) -> list[Decision]:
    for i in range(n):
        ledger.append(
            session,
            ledger.decision(
                kind="check",
                inputs={"usccs": [f"{i:018d}"], "domain": "bidding", "as_of": "2026-03-31"},
                versions={"registry_chain": "0:genesis"},
                output={"results": [], "n": i},
                reasons=[{"i": i}],
                subject=f"{i:018d}",
                key_id="tamper",
            ),
        )
    return _rows(session)


def _rows(session: Session) -> list[Decision]:
    session.expire_all()
    return list(session.scalars(select(Decision).order_by(Decision.chain_seq)))


def _named(session: Session, **kw) -> set[tuple[int | None, str]]:
    session.expire_all()
    return {(p.chain_seq, p.kind) for p in verify(session, **kw).problems}


def _set(session: Session, row: Decision, **values) -> None:
    session.execute(
        update(Decision)
        .where(Decision.decision_id == row.decision_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def test_an_untouched_ledger_verifies_and_each_row_checks_out(session: Session) -> None:
    rows = _append(session)
    report = verify(session)
    assert report.ok, report.problems
    assert report.length == rows[-1].chain_seq and report.head_hash == rows[-1].hash
    assert [r.chain_seq for r in rows] == list(range(1, len(rows) + 1))
    assert all(row_problems(r) == [] for r in rows)


EDITS = {
    "decision_id": "d" * 32,
    "kind": "score",
    "subject": "9" * 18,
    "key_id": "someone",
    "decided_at": dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
    "inputs": {"usccs": ["x"]},
    "inputs_sha256": "c" * 64,
    "versions": {"model": "forged"},
    "output": {"results": ["forged"]},
    "reasons": [],
    "prev_hash": "f" * 64,
    "hash": "e" * 64,
}


@pytest.mark.parametrize("column", sorted(EDITS))
def test_a_decision_edited_in_any_column_is_named(session: Session, column: str) -> None:
    target = _append(session)[-2]
    seq = target.chain_seq
    _set(session, target, **{column: EDITS[column]})
    named = _named(session)
    assert (seq, "edited") in named
    if column in ("inputs", "inputs_sha256"):
        assert (seq, "inputs") in named


def test_a_moved_decision_and_a_bad_seal_are_named(session: Session) -> None:
    target = _append(session)[-2]
    seq = target.chain_seq
    _set(session, target, chain_seq=10_000)
    assert {(seq, "deleted"), (10_000, "edited")} <= _named(session)
    _set(session, target, chain_seq=seq, seal="0" * 64)
    assert _named(session) == {(seq, "rehashed")}


def test_deleted_and_reordered_decisions_are_named(session: Session) -> None:
    rows = _append(session, 4)
    a, b = rows[-2:]
    for row, seq in ((a, -1), (b, a.chain_seq), (a, b.chain_seq)):
        _set(session, row, chain_seq=seq)
    assert "reordered" in {kind for _, kind in _named(session)}
    session.execute(delete(Decision).where(Decision.decision_id == rows[-3].decision_id))
    assert (rows[-3].chain_seq, "deleted") in _named(session)


def test_a_ledger_rewritten_consistently_without_the_key_is_named(session: Session) -> None:
    """Inputs, their hash, the output and every hash after it rewritten to agree: what a
    replay used to call reproduced."""
    rows = _append(session)
    target = rows[1]
    target.inputs = {**target.inputs, "domain": "procurement"}
    target.inputs_sha256 = ledger.inputs_hash(target.inputs)
    target.output = {**target.output, "domain": "procurement"}
    prev = rows[0].hash
    for r in rows[1:]:
        r.prev_hash = prev
        r.hash = prev = content_hash(ledger.content(r), prev)
    session.flush()
    session.execute(update(LedgerHead).values(head_hash=prev))
    named = _named(session)
    assert {(r.chain_seq, "rehashed") for r in rows[1:]} | {(None, "signature")} == named
    assert row_problems(target) == [
        f"ledger: decision {target.chain_seq}'s seal fails: rewritten without the key"
    ]


def test_a_cut_tail_is_named_by_the_head_and_by_a_checkpoint(session: Session) -> None:
    _append(session, 2)
    old_head = session.execute(select(LedgerHead.__table__)).mappings().one()
    session.commit()  # the ledger writes in a transaction of its own
    rows = _append(session, 1)
    document = json.loads(json.dumps(take_checkpoint(session)))
    assert verify(session, checkpoints={"cp": document}).ok
    session.execute(delete(Decision).where(Decision.decision_id == rows[-1].decision_id))
    assert (rows[-1].chain_seq, "head") in _named(session)  # the head was not fixed
    session.execute(update(LedgerHead).values(head_hash=rows[-2].hash, length=rows[-2].chain_seq))
    assert _named(session) == {(None, "signature")}  # fixed without the key
    session.execute(update(LedgerHead).values(**old_head))  # an older, genuinely signed head
    assert verify(session).ok
    assert _named(session, checkpoints={"cp": document}) == {(rows[-1].chain_seq, "truncated")}


def test_garbled_decisions_are_named_not_a_crash(session: Session) -> None:
    target = _append(session)[-2]
    postgres = session.get_bind().dialect.name == "postgresql"
    for column in ("output", "decided_at", "chain_seq"):
        if postgres:
            session.execute(text(f"ALTER TABLE decisions ALTER COLUMN {column} TYPE text"))
    session.execute(
        text(
            "UPDATE decisions SET output = '{oops', decided_at = 'noon', chain_seq = 'x' "
            "WHERE decision_id = :d"
        ),
        {"d": target.decision_id},
    )
    problems = verify(session).problems
    garbled = [p for p in problems if p.kind == "garbled"]
    assert [p.row for p in garbled] == [f"decision {target.decision_id}"]
    assert all(c in garbled[0].detail for c in ("output", "decided_at", "chain_seq"))
    assert (target.chain_seq, "deleted") in {(p.chain_seq, p.kind) for p in problems}
