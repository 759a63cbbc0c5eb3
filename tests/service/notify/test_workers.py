"""Workers that die or run side by side: a worker killed (SIGKILL) mid-batch loses nothing and
only what it had not recorded as delivered is sent again; two workers on PostgreSQL never send
the same event at the same time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import select

from features.uscc import with_check
from service.engine.notify.grades import grade_changes
from service.engine.notify.worker import Worker
from service.store.notify_tables import Delivery
from service.store.settings import NotifySettings
from tests.service.notify.conftest import D, Db, fast, new_key, subscribe, watch
from tests.service.notify.receiver import Receiver


def _events(db: Db, prefix: str, n: int) -> list[str]:
    """``n`` grade-change events, one per new code, watched by a new insurer."""
    codes = [with_check(f"91140100777{prefix}{i:05d}") for i in range(n)]
    with db.sessions() as session, session.begin():
        grade_changes(session, as_of=D(2025, 1, 1), usccs=codes, grades=["A"] * n, versions={})
    return codes


def _change(db: Db, codes: list[str]) -> None:
    with db.sessions() as session, session.begin():
        n = grade_changes(
            session, as_of=D(2025, 2, 1), usccs=codes, grades=["B"] * len(codes), versions={}
        )
    assert n == len(codes)


def _delivered(db: Db, subscription_id: str) -> set[int]:
    with db.sessions() as session, session.begin():
        return set(
            session.scalars(
                select(Delivery.event_id).where(
                    Delivery.subscription_id == subscription_id, Delivery.state == "delivered"
                )
            )
        )


def test_a_worker_killed_mid_batch_loses_nothing(db: Db) -> None:
    receiver = Receiver(delay=0.05).start()
    codes = _events(db, "1", 30)
    insurer = new_key(db, "insurer")
    watch(db, insurer, codes)
    sub = subscribe(db, insurer, receiver.url)
    _change(db, codes)
    env = {
        **os.environ,
        "SAFECREDIT_DATABASE_URL": db.url,
        "SAFECREDIT_NOTIFY__LEASE_SECONDS": "1",
        "SAFECREDIT_NOTIFY__BATCH": "100",
    }
    worker = subprocess.Popen(
        [sys.executable, "-c", "from service.cli.main import main; main()", "notify", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while len(receiver.got) < 8 and time.monotonic() < deadline:
        assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
        time.sleep(0.01)
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    if worker.stderr:
        worker.stderr.close()
    time.sleep(0.2)  # the POST in flight, if any, is received whole
    acknowledged = _delivered(db, sub.subscription_id)
    before = receiver.ids()
    assert 8 <= len(before) < 30 and len(acknowledged) <= len(before)
    time.sleep(1.1)  # the dead worker's lease lapses
    Worker(db.sessions, fast(), seed=1).run(once=True)
    receiver.stop()
    ids = receiver.ids()
    assert set(ids) == _delivered(db, sub.subscription_id) and len(set(ids)) == 30
    twice = {i for i in ids if ids.count(i) > 1}
    # sent again: only what was received but not yet recorded when the worker died (as many
    # POSTs as the worker has in flight at most)
    assert twice <= set(before) - acknowledged
    assert len(twice) <= NotifySettings().concurrency


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)  # row locks (SKIP LOCKED)
def test_two_workers_never_send_one_event_at_once(db: Db) -> None:
    receiver = Receiver(delay=0.002).start()
    codes = _events(db, "2", 200)
    insurer = new_key(db, "insurer")
    watch(db, insurer, codes)
    sub = subscribe(db, insurer, receiver.url)
    _change(db, codes)
    workers = [Worker(db.sessions, fast(batch=10), name=f"w{i}", seed=i) for i in (1, 2)]
    threads = [threading.Thread(target=w.run) for w in workers]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    while len(receiver.got) < 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # anything sent twice would arrive now
    for w in workers:
        w.stop()
    for t in threads:
        t.join(30)
    receiver.stop()
    ids = receiver.ids()
    assert receiver.overlaps == []
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 200
    assert _delivered(db, sub.subscription_id) == set(ids)
    assert all(w.done.sent > 0 for w in workers)  # both took part
