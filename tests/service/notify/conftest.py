"""Fixtures for the notification tests: a fresh database per module and backend (SQLite file, a
PostgreSQL schema of its own) whose commits are real — workers run in their own sessions, in
threads and in subprocesses — and helpers that list enterprises through the registry's procedure.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from registry.evaluate import evaluate
from registry.policy import find_policy
from registry.procedure import act, propose
from service.engine.keys import Principal, create_key, principal_of
from service.store.db import make_engine, sessions, upgrade
from service.store.notify_tables import Subscription
from service.store.settings import NotifySettings
from tests.conftest import PG_URL
from tests.registry.conftest import History

D = dt.date
DEPT = "太原市应急管理局"


@dataclass(frozen=True)
class Db:
    engine: Engine
    url: str
    backend: str

    @property
    def sessions(self) -> sessionmaker[Session]:
        return sessions(self.engine)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Db]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('notify') / 'notify.db'}"
        engine = make_engine(url)
        schema = None
    else:
        if os.environ.get("SAFECREDIT_TEST_POSTGRES") == "off":
            pytest.skip("PostgreSQL switched off by SAFECREDIT_TEST_POSTGRES=off")
        schema = f"safecredit_notify_{os.getpid()}_{request.module.__name__.rsplit('.', 1)[-1]}"
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        admin.dispose()
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        engine = create_engine(url, pool_pre_ping=True)
    upgrade(engine)
    made = Db(engine, url, request.param)
    # the tariff in use is announced once, before any test subscribes (a worker announces it)
    from service.engine.notify.worker import Worker

    Worker(made.sessions, fast()).announce_tariff()
    yield made
    engine.dispose()
    if schema is not None:
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def fast(**over: object) -> NotifySettings:
    """Settings for tests: retries a few milliseconds apart."""
    values: dict[str, object] = {
        "backoff_seconds": 0.01,
        "backoff_max_seconds": 0.05,
        "poll_seconds": 0.01,
        "max_attempts": 5,
    }
    values.update(over)
    return NotifySettings.model_validate(values)


def new_key(
    db: Db, role: str, *, uscc: str | None = None, department: str | None = None
) -> Principal:
    with db.sessions() as session, session.begin():
        row, _ = create_key(session, role=role, uscc=uscc, department=department, name=role)
        return principal_of(row)


def subscribe(db: Db, who: Principal, url: str) -> Subscription:
    from service.engine.notify.hooks import subscribe as make

    with db.sessions() as session, session.begin():
        return make(session, principal=who, url=url, secret="s" * 32, allowed=())


def watch(db: Db, who: Principal, codes: list[str], name: str = "book") -> str:
    from service.engine.notify.watch import create_watchlist

    with db.sessions() as session, session.begin():
        return create_watchlist(
            session, principal=who, name=name, codes=codes, most=100_000
        ).watchlist_id


@dataclass(frozen=True)
class Listed:
    uscc: str
    entry_id: str


def enterprise_with_accident(db: Db, *, event: dt.date, fulfilled_on: dt.date | None = None) -> str:
    """An enterprise with a 重大 accident on ``event`` and its penalty 30 days later."""
    with db.sessions() as session, session.begin():
        history = History(session)
        uscc = history.enterprise()
        pid = history.penalty(uscc, event + dt.timedelta(days=30), fulfilled_on=fulfilled_on)
        history.accident(uscc, event, deaths=12, penalty=pid)
    return uscc


def proposed(db: Db, uscc: str, *, on: dt.date) -> str:
    policy = find_policy("mem11")
    with db.sessions() as session, session.begin():
        (proposal,) = evaluate(session, policy=policy, as_of=on, usccs=[uscc])
        entry = propose(
            session, proposal=proposal, policy=policy, actor="reg-1", department=DEPT, on=on
        )
        return entry.entry_id


def step(db: Db, entry_id: str, action: str, on: dt.date, **details: object) -> None:
    with db.sessions() as session, session.begin():
        act(
            session,
            entry_id=entry_id,
            action=action,
            on=on,
            reason=action,
            actor="reg-1",
            department=DEPT,
            details=details or None,
        )
