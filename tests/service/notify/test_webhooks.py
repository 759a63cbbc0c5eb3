"""Deliveries to a webhook receiver on 127.0.0.1: a listing published, an expiry passing, a
repair and a grade change each arrive once, signed, in order; failures are retried; an
unpublished proposal never reaches an insurer."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from features.uscc import with_check
from registry.clock import naive_utc
from service.engine.notify.feed import changes
from service.engine.notify.grades import grade_changes
from service.engine.notify.hooks import delivery, replay, unsubscribe
from service.engine.notify.signing import verify
from service.engine.notify.worker import Worker
from service.store.notify_tables import Delivery
from tests.service.notify.conftest import (
    D,
    Db,
    enterprise_with_accident,
    fast,
    new_key,
    proposed,
    step,
    subscribe,
    watch,
)
from tests.service.notify.receiver import Receiver

SECRET = "s" * 32


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def deliver_all(db: Db, **settings: object) -> Worker:
    worker = Worker(db.sessions, fast(**settings), seed=7)
    worker.run(once=True)
    return worker


def grades(db: Db, codes: list[str], as_of: dt.date, grade: str) -> int:
    with db.sessions() as session, session.begin():
        return grade_changes(
            session, as_of=as_of, usccs=codes, grades=[grade] * len(codes), versions={"model": "t"}
        )


def test_listing_repair_grade_and_expiry_arrive_once_signed_in_order(db, frozen, receiver):
    frozen.day = D(2024, 2, 20)
    a = enterprise_with_accident(db, event=D(2024, 1, 10), fulfilled_on=D(2024, 2, 15))
    b = enterprise_with_accident(db, event=D(2024, 1, 10))
    insurer = new_key(db, "insurer")
    watch(db, insurer, [a, b])
    regulator = new_key(db, "regulator", department="太原市应急管理局")
    everything = Receiver().start()
    subscribe(db, insurer, receiver.url)
    regulator_sub = subscribe(db, regulator, everything.url)
    grades(db, [a, b], D(2024, 2, 1), "B")  # the first book: nothing to compare with
    entries = {u: proposed(db, u, on=D(2024, 2, 20)) for u in (a, b)}
    frozen.day = D(2024, 4, 1)
    for u in (a, b):
        step(db, entries[u], "notify", D(2024, 2, 21))
        step(db, entries[u], "decide", D(2024, 3, 27))
    for u in (a, b):
        step(db, entries[u], "publish", D(2024, 4, 1))
    deliver_all(db)
    assert [r.event["type"] for r in receiver.got] == ["registry.published"] * 2
    frozen.day = D(2025, 4, 10)
    step(db, entries[a], "apply_repair", D(2025, 4, 1), commitment_signed_on="2025-03-20")
    step(db, entries[a], "approve_repair", D(2025, 4, 10))
    assert grades(db, [a, b], D(2025, 4, 10), "B") == 0
    assert grades(db, [a], D(2025, 4, 10), "C") == 1
    deliver_all(db)
    frozen.day = D(2027, 3, 31)
    deliver_all(db)
    assert len(receiver.got) == 5  # the term has not ended yet
    frozen.day = D(2027, 4, 2)
    deliver_all(db)
    deliver_all(db)  # nothing twice
    everything.stop()
    with db.sessions() as session, session.begin():
        unsubscribe(session, principal=regulator, subscription_id=regulator_sub.subscription_id)

    # each once, in order per enterprise (two enterprises' events may be sent side by side)
    def of(uscc: str) -> list[str]:
        return [r.event["type"] for r in receiver.got if r.event["uscc"] == uscc]

    assert of(a) == [
        "registry.published",
        "registry.repair_applied",
        "registry.repaired",
        "score.grade_changed",
    ]
    assert of(b) == ["registry.published", "registry.expired"]
    assert len(receiver.got) == 6
    ids = receiver.ids()
    assert len(set(ids)) == len(ids)
    for u in (a, b):
        theirs = [r.event_id for r in receiver.got if r.event["uscc"] == u]
        assert theirs == sorted(theirs)
    now = int(time.time())
    for r in receiver.got:
        assert verify(SECRET, r.headers["X-Safecredit-Signature"], r.body, now=now)
        assert not verify("x" * 32, r.headers["X-Safecredit-Signature"], r.body, now=now)
        assert r.headers["X-Safecredit-Event-Id"] == str(r.event["id"])
    by_type = {r.event["type"]: r.event for r in receiver.got}
    expired = by_type["registry.expired"]
    assert expired["effective_on"] == "2027-04-01"
    assert expired["payload"]["entry_id"] == entries[b]
    graded = by_type["score.grade_changed"]["payload"]
    assert (graded["previous_grade"], graded["grade"]) == ("B", "C")
    # the regulator heard of every step, the unpublished ones too, each once and in order
    types = [r.event["type"] for r in everything.got]
    assert types.count("registry.proposed") == 2 and types.count("registry.decided") == 2
    assert len(everything.got) == 12 and len(set(everything.ids())) == 12
    for u in (a, b):  # in order per enterprise (two enterprises' events may interleave)
        theirs = [r.event_id for r in everything.got if r.event["uscc"] == u]
        assert theirs == sorted(theirs)
    # the feed tells the insurer the same (and the tariff in use, announced before the
    # webhook was made), a page at a time
    with db.sessions() as session, session.begin():
        seen, cursor = [], None
        while True:
            page = changes(session, principal=insurer, since=cursor, limit=2, today=frozen.day)
            seen += [e["id"] for e in page.events if e["type"] != "tariff.version"]
            cursor = page.next_cursor
            if not page.more:
                break
        assert seen == sorted(ids)
        assert (
            changes(session, principal=insurer, since=cursor, limit=5, today=frozen.day).events
            == []
        )


def test_a_receiver_failing_three_times_gets_it_on_the_fourth_try(db, receiver):
    receiver.fail_first = 3
    code = with_check("91140100888000001")
    insurer = new_key(db, "insurer")
    watch(db, insurer, [code])
    sub = subscribe(db, insurer, receiver.url)
    grades(db, [code], D(2025, 1, 1), "A")
    assert grades(db, [code], D(2025, 2, 1), "B") == 1
    worker = Worker(db.sessions, fast(), seed=3)
    deadline = time.monotonic() + 30
    while not receiver.got and time.monotonic() < deadline:
        worker.round()
        time.sleep(0.01)
    (got,) = receiver.got
    assert receiver.tries[got.event_id] == 4
    with db.sessions() as session, session.begin():
        d = session.scalars(
            select(Delivery).where(Delivery.subscription_id == sub.subscription_id)
        ).one()
        row, attempts = delivery(session, principal=insurer, delivery_id=d.delivery_id)
        assert row.state == "delivered" and row.attempts == 4
        assert [a.status_code for a in attempts] == [500, 500, 500, 200]
        assert [a.error is None for a in attempts] == [False, False, False, True]
        # the retries waited longer each time (backoff with jitter: between half and all)
        starts = [naive_utc(a.started_at) for a in attempts]
        gaps = [(y - x).total_seconds() for x, y in itertools.pairwise(starts)]
        assert all(g >= 0.004 for g in gaps)
    worker.run(once=True)
    assert len(receiver.got) == 1


def test_a_dead_delivery_is_listed_and_replayed(db, receiver):
    receiver.fail_first = 2
    code = with_check("91140100888000002")
    insurer = new_key(db, "insurer")
    watch(db, insurer, [code])
    sub = subscribe(db, insurer, receiver.url)
    grades(db, [code], D(2025, 1, 1), "A")
    grades(db, [code], D(2025, 2, 1), "B")
    worker = Worker(db.sessions, fast(max_attempts=2), seed=3)
    for _ in range(50):
        worker.round()
        time.sleep(0.01)
    assert receiver.got == [] and sum(receiver.tries.values()) == 2
    with db.sessions() as session, session.begin():
        (dead,) = session.scalars(
            select(Delivery).where(
                Delivery.state == "dead", Delivery.subscription_id == sub.subscription_id
            )
        ).all()
        assert dead.last_error is not None and "500" in dead.last_error
        replay(session, principal=insurer, delivery_id=dead.delivery_id)
    worker.run(once=True)
    assert len(receiver.got) == 1 and receiver.tries[receiver.got[0].event_id] == 3


def test_an_unpublished_proposal_never_reaches_an_insurer(db, frozen, receiver):
    frozen.day = D(2024, 4, 1)
    code = enterprise_with_accident(db, event=D(2024, 1, 10))
    insurer = new_key(db, "insurer")
    office = new_key(db, "approval_office")
    own = new_key(db, "enterprise", uscc=code)
    for who in (insurer, office, own):
        watch(db, who, [code])
    subscribe(db, insurer, receiver.url)
    subscribe(db, office, receiver.url)
    itself = Receiver().start()
    subscribe(db, own, itself.url)
    entry = proposed(db, code, on=D(2024, 2, 20))
    step(db, entry, "notify", D(2024, 2, 21))
    step(db, entry, "decide", D(2024, 3, 27))
    deliver_all(db)
    itself.stop()
    assert receiver.got == [] and receiver.tries == {}
    assert [r.event["type"] for r in itself.got] == [
        "registry.proposed",
        "registry.notified",
        "registry.decided",
    ]
    with db.sessions() as session, session.begin():
        for who in (insurer, office):
            heard = changes(session, principal=who, since=None, limit=100, today=frozen.day)
            assert [e for e in heard.events if e["uscc"] is not None] == []
        mine = changes(session, principal=own, since=None, limit=100, today=frozen.day).events
        mine = [e for e in mine if e["uscc"] is not None]
        assert [e["type"] for e in mine] == [r.event["type"] for r in itself.got]
        assert all(e["uscc"] == code for e in mine)


def test_a_redirect_is_a_failure_and_never_followed(db, receiver):
    receiver.status = 302
    code = with_check("91140100888000003")
    insurer = new_key(db, "insurer")
    watch(db, insurer, [code])
    sub = subscribe(db, insurer, receiver.url)
    grades(db, [code], D(2025, 1, 1), "A")
    grades(db, [code], D(2025, 2, 1), "B")
    Worker(db.sessions, fast(max_attempts=1), seed=1).run(once=True)
    with db.sessions() as session, session.begin():
        d = session.scalars(
            select(Delivery).where(Delivery.subscription_id == sub.subscription_id)
        ).one()
        assert (
            d.state == "dead" and d.last_error is not None and d.last_error.startswith("HTTP 302")
        )
    assert receiver.got == []


def test_event_body_is_the_feed_json(db, receiver):
    code = with_check("91140100888000004")
    regulator = new_key(db, "regulator", department="x")
    subscribe(db, regulator, receiver.url)
    grades(db, [code], D(2025, 1, 1), "A")
    grades(db, [code], D(2025, 2, 1), "D")
    deliver_all(db)
    mine = [r for r in receiver.got if r.event["uscc"] == code]
    (r,) = mine
    assert set(json.loads(r.body)) == {
        "id",
        "type",
        "uscc",
        "effective_on",
        "recorded_at",
        "payload",
    }


def test_a_new_tariff_or_champion_is_announced_once_to_everyone(db, receiver):
    from service.engine.notify.grades import version_change

    office = new_key(db, "approval_office")
    subscribe(db, office, receiver.url)
    with db.sessions() as session, session.begin():
        first = version_change(session, name="champion", value="m/1", on=D(2026, 1, 1))
        assert version_change(session, name="champion", value="m/1", on=D(2026, 1, 2)) is None
        second = version_change(session, name="champion", value="m/2", on=D(2026, 1, 3))
    Worker(db.sessions, fast(), seed=1).announce_tariff()  # the same tariff: nothing new
    deliver_all(db)
    got = [(r.event["id"], r.event["type"], r.event["payload"]["version"]) for r in receiver.got]
    assert got == [(first, "model.champion", "m/1"), (second, "model.champion", "m/2")]
    assert receiver.got[1].event["payload"]["previous_version"] == "m/1"
    assert receiver.got[1].event["uscc"] is None


def test_the_worker_runs_inside_the_service_when_the_setting_says_so(db, receiver, tmp_path):
    from fastapi.testclient import TestClient

    from service.http.app import create_app
    from service.store.settings import Settings

    code = with_check("91140100888000005")
    insurer = new_key(db, "insurer")
    watch(db, insurer, [code])
    subscribe(db, insurer, receiver.url)
    grades(db, [code], D(2025, 1, 1), "A")
    grades(db, [code], D(2025, 2, 1), "B")
    settings = Settings.model_validate(
        {
            "database": {"url": db.url},
            "mlflow": {"tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}"},
            "service": {"book_days": []},
            "notify": {"worker_in_serve": True, "poll_seconds": 0.05},
        }
    )
    with TestClient(create_app(settings, engine=db.engine)):
        deadline = time.monotonic() + 30
        while not receiver.got and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [r.event["uscc"] for r in receiver.got] == [code]


def test_a_revoked_key_hears_no_more(db, receiver):
    from service.engine.keys import revoke_key

    code = with_check("91140100888000006")
    insurer = new_key(db, "insurer")
    watch(db, insurer, [code])
    subscribe(db, insurer, receiver.url)
    grades(db, [code], D(2025, 1, 1), "A")
    grades(db, [code], D(2025, 2, 1), "B")  # made while the key was live
    with db.sessions() as session, session.begin():
        revoke_key(session, key_id=insurer.key_id)
    grades(db, [code], D(2025, 3, 1), "C")  # after
    deliver_all(db)
    assert receiver.got == []
