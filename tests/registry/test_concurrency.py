"""Two regulators acting on the same entry at the same moment: exactly one wins (PostgreSQL,
real threads, real commits; the rows this test commits are removed again afterwards)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, delete, event, select, update
from sqlalchemy.orm import Session

from features.tables import HISTORY_TABLES, Load
from registry.chain import verify
from registry.errors import ConflictError
from registry.evaluate import evaluate
from registry.index import index_for
from registry.policy import find_policy
from registry.procedure import act, propose
from registry.tables import Action, ChainHead, Entry
from service.store.db import upgrade
from tests.registry.conftest import D, History

DEPT = "太原市应急管理局"


@pytest.fixture
def pg(postgres_engine: Engine):
    """Row locks and concurrent commits are proven on PostgreSQL."""
    engine = postgres_engine
    with Session(engine) as s:
        saved = dict(s.execute(select(ChainHead.__table__)).mappings().one())
    loads: list[int] = []
    yield engine, loads
    with Session(engine) as s, s.begin():
        mine = select(Entry.entry_id).where(
            Entry.uscc.in_(
                select(HISTORY_TABLES["enterprises"].uscc).where(
                    HISTORY_TABLES["enterprises"].load_id.in_(loads)
                )
            )
        )
        s.execute(delete(Action).where(Action.entry_id.in_(mine)))
        s.execute(delete(Entry).where(Entry.entry_id.in_(mine)))
        for cls in HISTORY_TABLES.values():
            s.execute(delete(cls).where(cls.load_id.in_(loads)))
        s.execute(delete(Load).where(Load.load_id.in_(loads)))
        s.execute(update(ChainHead).values(**saved))  # signed as it was


def _entry(engine: Engine, loads: list[int]) -> str:
    policy = find_policy("mem11")
    with Session(engine) as s, s.begin():
        h = History(s)
        loads.append(h.load.load_id)
        uscc = h.enterprise()
        pid = h.penalty(uscc, D(2024, 2, 1))
        h.violation(uscc, D(2024, 1, 5), "no_permit", penalty=pid)
        (p,) = evaluate(s, policy=policy, as_of=D(2024, 2, 2), usccs=[uscc])
        e = propose(s, proposal=p, policy=policy, actor="r", department=DEPT, on=D(2024, 2, 2))
        act(
            s,
            entry_id=e.entry_id,
            action="notify",
            actor="r",
            department=DEPT,
            on=D(2024, 2, 5),
            reason="notice",
        )
        return e.entry_id


def _race(engine: Engine, jobs: list[dict]) -> list[object]:
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def run(i: int, job: dict) -> None:
        with Session(engine) as s:
            version = s.scalar(select(Entry.version).where(Entry.entry_id == job["entry_id"]))
            barrier.wait()
            try:
                act(s, department=DEPT, on=D(2024, 3, 1), expected_version=version, **job)
                s.commit()
                results[i] = "ok"
            except Exception as exc:
                s.rollback()
                results[i] = exc

    threads = [threading.Thread(target=run, args=(i, j)) for i, j in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_same_entry_exactly_one_wins(pg):
    engine, loads = pg
    for _ in range(3):
        entry_id = _entry(engine, loads)
        results = _race(
            engine,
            [
                {"entry_id": entry_id, "action": "decide", "actor": "甲", "reason": "decide"},
                {"entry_id": entry_id, "action": "revoke", "actor": "乙", "reason": "revoke"},
            ],
        )
        assert sorted(map(type, results), key=str) == sorted([str, ConflictError], key=str)
        with Session(engine) as s:
            steps = s.scalars(
                select(Action.action).where(Action.entry_id == entry_id).order_by(Action.seq)
            ).all()
            assert len(steps) == 3 and steps[2] in {"decide", "revoke"}
            assert s.scalar(select(Entry.version).where(Entry.entry_id == entry_id)) == 3


def test_different_entries_both_succeed_and_chain_holds(pg):
    engine, loads = pg
    ids = [_entry(engine, loads) for _ in range(4)]
    results = _race(
        engine,
        [
            {"entry_id": i, "action": "decide", "actor": f"r{n}", "reason": "decide"}
            for n, i in enumerate(ids)
        ],
    )
    assert results == ["ok"] * 4
    with Session(engine) as s:
        assert verify(s).ok


def test_index_refreshes_never_deadlock_on_a_small_pool(tmp_path: Path) -> None:
    """Threads that already hold a pooled connection and threads that have none yet refresh the
    index at once, with fewer connections than threads: all finish (a refresh that took the
    index's lock before its connection could wait for ever on threads waiting for that lock)."""

    engine = create_engine(
        f"sqlite:///{tmp_path / 'pool.db'}", pool_size=2, max_overflow=0, pool_timeout=5
    )
    event.listen(engine, "connect", lambda c, _: setattr(c, "isolation_level", None))
    event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
    upgrade(engine)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def refresh(connected_first: bool) -> None:
        start.wait()
        try:
            for _ in range(30):
                with Session(engine) as s, s.begin():
                    if connected_first:
                        s.execute(select(ChainHead.length)).all()
                    index_for(s)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=refresh, args=(i % 2 == 0,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    engine.dispose()
    assert not errors, errors[:1]
