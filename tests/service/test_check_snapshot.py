"""Registry checks answered from the process's frozen registry: an action through the same app is
seen at once, another process's after the refresh interval, and the answer replays equal. These
tests commit (the frozen registry reads what is committed), so each backend gets a database of
its own, made once for the module."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from experiments.simulate import World, write_world
from registry import clock
from registry.procedure import act
from service.engine.decisions import Scorer
from service.engine.keys import create_key
from service.http.api import registry as registry_api
from service.http.app import create_app
from service.store.db import make_engine
from tests.service.conftest import PG_SCHEMA, PG_URL, Province, _load, settings_for

CHECKS = "/v1/registry/checks"
SCHEMA = f"{PG_SCHEMA}_snap"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def own(
    request: pytest.FixtureRequest, world: World, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Province]:
    folder = tmp_path_factory.mktemp("snap_province")
    write_world(world, folder, "csv")
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('snap') / 'snap.db'}")
        yield _load(engine, folder)
        engine.dispose()
        return
    admin = make_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        engine = create_engine(f"{PG_URL}?options=-csearch_path%3D{SCHEMA}", pool_pre_ping=True)
        yield _load(engine, folder)
        engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        admin.dispose()


@dataclass
class Served:
    client: TestClient
    province: Province
    today: dt.date
    slow: list[int]  # checks answered in the threadpool

    def key(self, role: str, department: str | None = None) -> dict[str, str]:
        with Session(self.province.engine) as session, session.begin():
            _, token = create_key(session, role=role, department=department, name="snapshot")
        return {"Authorization": f"Bearer {token}"}

    def check(self, headers: dict[str, str]) -> dict[str, Any]:
        p = self.province
        body = {"usccs": [p.listed, p.unlisted], "domain": "bidding", "as_of": str(self.today)}
        r = self.client.post(CHECKS, json=body, headers=headers)
        assert r.status_code == 200, r.text
        found: dict[str, Any] = r.json()
        return found


@pytest.fixture
def served(
    own: Province, scorer: Scorer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Served]:
    slow: list[int] = []
    threadpool = registry_api.decide_check

    def counted(*args: Any, **kwargs: Any) -> Any:
        slow.append(1)
        return threadpool(*args, **kwargs)

    monkeypatch.setattr(registry_api, "decide_check", counted)
    app = create_app(settings_for(tmp_path), engine=own.engine, scorer=scorer)
    with TestClient(app) as client:
        today = clock.today(app.state.time_zone)
        app.state.books.build_now(scorer, today)  # the grades from memory too
        served = Served(client, own, today, slow)
        served.check(served.key("approval_office"))  # reads the codes' enterprises: the first
        app.state.snapshots.refresh()  # check of a code takes the database path
        slow.clear()
        yield served


def _name(answer: dict[str, Any]) -> str:
    listed = answer["results"][0]
    assert listed["status"] == "restricted"
    name: str = listed["entries"][0]["name"]
    return name


def _wait(until: Callable[[], bool], seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if until():
            return True
        time.sleep(0.05)
    return until()


def test_a_check_after_an_action_through_the_app_sees_it_and_replays(served: Served) -> None:
    p = served.province
    office = served.key("approval_office")
    regulator = served.key("regulator", p.department)
    before = served.check(office)
    assert not served.slow  # answered from memory
    fixed = f"更正名称 {time.monotonic_ns()}"
    body = {"action": "correct", "reason": "typo", "details": {"corrections": {"name": fixed}}}
    r = served.client.post(
        f"/v1/registry/entries/{p.entry_id}/actions", json=body, headers=regulator
    )
    assert r.status_code == 200, r.text
    after = served.check(office)
    assert not served.slow
    assert _name(before) != fixed and _name(after) == fixed  # at once, no waiting
    assert after["results"][1]["status"] == "clear"
    for answer in (before, after):
        replayed = served.client.post(
            f"/v1/decisions/{answer['decision_id']}/replay", headers=regulator
        )
        assert replayed.status_code == 200, replayed.text
        assert replayed.json()["reproduced"] is True, replayed.text
    decision = served.client.get(f"/v1/decisions/{after['decision_id']}", headers=regulator)
    assert decision.status_code == 200, decision.text


def test_an_action_by_another_process_is_seen_after_the_refresh(served: Served) -> None:
    p = served.province
    office = served.key("approval_office")
    fixed = f"另一进程更正 {time.monotonic_ns()}"
    other: Engine = create_engine(p.engine.url)
    try:
        with Session(other) as session, session.begin():
            act(
                session,
                entry_id=p.entry_id,
                action="correct",
                actor="reg-2",
                department=p.department,
                on=served.today,
                reason="typo",
                details={"corrections": {"name": fixed}},
            )
    finally:
        other.dispose()
    assert _wait(lambda: _name(served.check(office)) == fixed)
    assert not served.slow


def test_a_past_moment_is_answered_from_the_database(served: Served) -> None:
    p = served.province
    office = served.key("approval_office")
    now = dt.datetime.now(dt.UTC).isoformat()
    body = {"usccs": [p.listed], "domain": "bidding", "as_of": str(served.today), "known_at": now}
    r = served.client.post(CHECKS, json=body, headers=office)
    assert r.status_code == 200, r.text
    assert served.slow == [1]
