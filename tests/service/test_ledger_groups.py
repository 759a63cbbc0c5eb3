"""The ledger's group commit: answers given at the same time are all recorded, each exactly once,
in fewer transactions than answers; a failed transaction fails every answer of its group and
records none of them."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, event, func, select
from sqlalchemy.orm import Session

from service import ledger
from service.tables import Decision

THREADS, EACH = 16, 20


@pytest.fixture
def mark(engine: Engine) -> Iterator[str]:
    """A key_id marking this test's rows, removed afterwards (these tests need real commits)."""
    mark = f"groups-{id(engine) % 10_000:04d}"
    yield mark
    with Session(engine) as session, session.begin():
        session.execute(delete(Decision).where(Decision.key_id == mark))


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
