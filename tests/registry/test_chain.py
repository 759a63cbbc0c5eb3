"""The hash chain: verify finds edited, deleted and reordered rows, a cut tail, edited entries."""

from __future__ import annotations

from itertools import pairwise

from sqlalchemy import delete, select, update

from registry.chain import verify
from registry.evaluate import evaluate
from registry.procedure import act, propose
from registry.tables import Action, ChainHead, Entry
from tests.registry.conftest import D

DEPT = "太原市应急管理局"


def _some_actions(session, history, mem11, n_entries=2):
    for _ in range(n_entries):
        uscc = history.enterprise()
        pid = history.penalty(uscc, D(2024, 2, 1))
        history.violation(uscc, D(2024, 1, 5), "no_permit", penalty=pid)
        (p,) = evaluate(session, policy=mem11, as_of=D(2024, 2, 2), usccs=[uscc])
        e = propose(session, proposal=p, policy=mem11, actor="r", department=DEPT, on=D(2024, 2, 2))
        act(
            session,
            entry_id=e.entry_id,
            action="notify",
            actor="r",
            department=DEPT,
            on=D(2024, 2, 5),
            reason="notice",
        )
    return list(session.scalars(select(Action).order_by(Action.chain_seq)))


def test_untouched_chain_verifies(session, history, mem11):
    rows = _some_actions(session, history, mem11)
    report = verify(session)
    assert report.ok, report.problems
    assert report.length == rows[-1].chain_seq and report.head_hash == rows[-1].hash
    assert all(b.prev_hash == a.hash for a, b in pairwise(rows))


def test_edited_row_is_named(session, history, mem11):
    rows = _some_actions(session, history, mem11)
    target = rows[-2]
    session.execute(
        update(Action).where(Action.action_id == target.action_id).values(reason="nothing happened")
    )
    session.expire_all()
    problems = verify(session).problems
    assert [(p.chain_seq, p.kind) for p in problems] == [(target.chain_seq, "edited")]


def test_deleted_row_is_named(session, history, mem11):
    rows = _some_actions(session, history, mem11)
    gone = rows[-2]
    session.execute(delete(Action).where(Action.action_id == gone.action_id))
    session.expire_all()
    kinds = {(p.chain_seq, p.kind) for p in verify(session).problems}
    assert (gone.chain_seq, "deleted") in kinds


def test_reordered_rows_are_named(session, history, mem11):
    rows = _some_actions(session, history, mem11)
    (a, a_seq), (b, b_seq) = ((r.action_id, r.chain_seq) for r in rows[-2:])
    # swap their positions in the chain (through a free number, the column is unique)
    for action_id, seq in ((a, -1), (b, a_seq), (a, b_seq)):
        session.execute(
            update(Action)
            .where(Action.action_id == action_id)
            .values(chain_seq=seq)
            .execution_options(synchronize_session=False)
        )
    session.expire_all()
    kinds = {p.kind for p in verify(session).problems}
    assert "reordered" in kinds


def test_cut_tail_and_edited_entry(session, history, mem11):
    rows = _some_actions(session, history, mem11)
    session.execute(delete(Action).where(Action.action_id == rows[-1].action_id))
    session.expire_all()
    assert [p.kind for p in verify(session).problems] == ["head"]
    session.execute(update(ChainHead).values(length=rows[-2].chain_seq, head_hash=rows[-2].hash))
    first = next(r for r in rows if r.action == "propose")
    session.execute(
        update(Entry).where(Entry.entry_id == first.entry_id).values(department="someone else")
    )
    session.expire_all()
    assert [(p.kind, p.chain_seq) for p in verify(session).problems] == [
        ("entry_edited", first.chain_seq)
    ]
