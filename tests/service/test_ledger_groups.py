"""The ledger's group commit: answers given at the same time are all recorded, each exactly once,
in fewer transactions than answers, on a gapless chain that verifies (threads here, processes
too); a failed transaction fails every answer of its group and records none of them."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, event, func, select, update
from sqlalchemy.orm import Session

from service.engine import ledger
from service.engine.ledger_chain import verify
from service.store.tables import Decision, LedgerHead

THREADS, EACH = 16, 20
PROCESSES = 3


@pytest.fixture
def mark(engine: Engine) -> Iterator[str]:
    """A key_id marking this test's rows, removed afterwards with the chain's head put back as
    it was (these tests need real commits; they are the chain's tail)."""
    mark = f"groups-{id(engine) % 10_000:04d}"
    with Session(engine) as session:
        head = dict(session.execute(select(LedgerHead.__table__)).mappings().one())
    yield mark
    with Session(engine) as session, session.begin():
        session.execute(delete(Decision).where(Decision.chain_seq > head["length"]))
        session.execute(update(LedgerHead).values(**head))


def _row(mark: str, i: int) -> ledger.Row:
    return ledger.decision(
        kind="check",
        inputs={"usccs": [f"{i:018d}"], "domain": "bidding", "as_of": "2026-03-31"},
        versions={"registry_chain": "0:genesis"},
        output={"results": [], "n": i},
        reasons=[],
        key_id=mark,
    )


def test_answers_at_the_same_time_are_all_recorded_in_fewer_commits(
    engine: Engine, mark: str
) -> None:
    commits = 0

    def counted(_connection: object) -> None:
        nonlocal commits
        commits += 1

    event.listen(engine, "commit", counted)
    ids: list[str] = []
    start = threading.Barrier(THREADS)

    def answer(t: int) -> None:
        start.wait()
        with Session(engine) as session:
            for j in range(EACH):
                ids.append(ledger.append(session, _row(mark, t * EACH + j)).decision_id)

    try:
        threads = [threading.Thread(target=answer, args=(t,)) for t in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        event.remove(engine, "commit", counted)
    assert len(ids) == len(set(ids)) == THREADS * EACH
    with Session(engine) as session:
        stored = session.scalars(select(Decision.decision_id).where(Decision.key_id == mark))
        assert set(stored) == set(ids)
        ns = session.scalars(
            select(func.count()).select_from(Decision).where(Decision.key_id == mark)
        ).one()
    assert ns == THREADS * EACH
    assert commits < THREADS * EACH  # groups of more than one answer were written together
    with Session(engine) as session:
        seqs = list(session.scalars(select(Decision.chain_seq).order_by(Decision.chain_seq)))
        report = verify(session)
    assert seqs == list(range(1, len(seqs) + 1))  # gapless, each number once
    assert report.ok, report.problems


def test_a_failed_group_fails_its_answers_and_records_none(engine: Engine, mark: str) -> None:
    with Session(engine) as session:
        first = ledger.append(session, _row(mark, 1))
        clash = _row(mark, 2)
        clash.decision_id = first.decision_id  # the primary key is taken: the insert fails
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
            ledger.append(session, clash)
        later = ledger.append(session, _row(mark, 3))  # the next group is unaffected
    with Session(engine) as session:
        stored = set(session.scalars(select(Decision.decision_id).where(Decision.key_id == mark)))
    assert stored == {first.decision_id, later.decision_id}


def _process(engine: Engine, mark: str, first: int, start: object) -> None:
    engine.dispose(close=False)  # the parent's connections stay the parent's
    start.wait()  # type: ignore[attr-defined]
    with Session(engine) as session:
        for j in range(EACH):
            ledger.append(session, _row(mark, first + j))


def test_worker_processes_writing_at_once_keep_one_gapless_chain(engine: Engine, mark: str) -> None:
    """As several uvicorn workers do: each process groups its own answers; the head row's lock
    (PostgreSQL) or the write lock (SQLite) puts the groups of all of them in one order."""
    context = multiprocessing.get_context("fork")
    start = context.Barrier(PROCESSES)
    workers = [
        context.Process(target=_process, args=(engine, mark, p * EACH, start))
        for p in range(PROCESSES)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0] * PROCESSES
    with Session(engine) as session:
        mine = session.scalars(
            select(func.count()).select_from(Decision).where(Decision.key_id == mark)
        ).one()
        seqs = list(session.scalars(select(Decision.chain_seq).order_by(Decision.chain_seq)))
        report = verify(session)
    assert mine == PROCESSES * EACH
    assert seqs == list(range(1, len(seqs) + 1))
    assert report.ok, report.problems
