"""Fixtures for the service tests: the simulated province loaded once per backend (SQLite and
the PostgreSQL at 127.0.0.1:5432) with one listing walked to publication; each test then runs in
a rolled-back outer transaction that the app's sessions join with savepoints."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from experiments.simulate import World, write_world
from features.catalogue import CATALOGUE_VERSION
from features.ingest import ingest
from models.policy import ScoringPolicy
from models.recourse import Actions
from models.tracking import Loaded
from models.training import Trained
from registry.evaluate import Proposal, evaluate
from registry.policy import find_policy
from registry.procedure import act, propose
from registry.tables import Entry
from service.engine.decisions import Scorer
from service.engine.keys import create_key
from service.http.api.deps import get_session
from service.http.app import create_app
from service.store.db import make_engine, upgrade
from service.store.settings import Settings

END = dt.date(2025, 12, 31)
AS_OF = dt.date(2026, 3, 31)
PG_URL = os.environ.get(
    "SAFECREDIT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PG_SCHEMA = f"safecredit_api_{os.getpid()}"


@dataclass(frozen=True)
class Province:
    engine: Engine
    listed: str  # a USCC with an entry published 2026-02-05
    entry_id: str
    department: str
    unlisted: str  # a USCC with no entry


def _load(engine: Engine, folder: Path) -> Province:
    upgrade(engine)
    with Session(engine) as session, session.begin():
        ingest(session, folder, known_on=END)
        proposal, entry = publish_first(session, on=PUBLISHED)
        codes = session.execute(text("SELECT DISTINCT uscc FROM enterprises ORDER BY uscc"))
        unlisted = next(c for (c,) in codes if c != proposal.uscc)
        entry_id = entry.entry_id
    return Province(engine, proposal.uscc, entry_id, proposal.department, unlisted)


@pytest.fixture(scope="session")
def provinces(
    world: World, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], Province]]:
    """Loaded databases by backend, made on first use; the PostgreSQL schema is dropped after."""
    _MADE: dict[str, Province] = {}

    def get(backend: str) -> Province:
        if backend not in _MADE:
            folder = tmp_path_factory.mktemp("province")
            write_world(world, folder, "csv")
            if backend == "sqlite":
                engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('api') / 'api.db'}")
            else:
                if os.environ.get("SAFECREDIT_TEST_POSTGRES") == "off":
                    pytest.skip("PostgreSQL switched off by SAFECREDIT_TEST_POSTGRES=off")
                admin = make_engine(PG_URL)
                with admin.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
                    conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
                admin.dispose()
                # the schema in the URL too, so that caches keyed by URL tell the schemas apart
                engine = create_engine(
                    f"{PG_URL}?options=-csearch_path%3D{PG_SCHEMA}", pool_pre_ping=True
                )
            _MADE[backend] = _load(engine, folder)
        return _MADE[backend]

    yield get
    for backend in list(_MADE):
        _MADE.pop(backend).engine.dispose()
        if backend == "postgresql":
            admin = make_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
            admin.dispose()


PUBLISHED = (dt.date(2026, 1, 5), dt.date(2026, 1, 6), dt.date(2026, 2, 2), dt.date(2026, 2, 5))


def publish_first(
    session: Session, *, on: tuple[dt.date, dt.date, dt.date, dt.date]
) -> tuple[Proposal, Entry]:
    """Walk the first proposal of the listing rules (as of END) through proposal, notice,
    decision and publication on the four dates, by the department that imposed the penalty."""
    policy = find_policy("mem11")
    proposal = evaluate(session, policy=policy, as_of=END)[0]
    who = {"actor": "reg-1", "department": proposal.department}
    entry = propose(session, proposal=proposal, policy=policy, on=on[0], **who)
    for action, day in zip(("notify", "decide", "publish"), on[1:], strict=True):
        act(session, entry_id=entry.entry_id, action=action, on=day, reason=action, **who)
    return proposal, entry


@pytest.fixture
def loaded_session(session: Session, world: World, tmp_path: Path) -> Session:
    """The rolled-back test session with the simulated province ingested."""
    write_world(world, tmp_path, "csv")
    with session.begin_nested():
        ingest(session, tmp_path, known_on=END)
    return session


@pytest.fixture(scope="session")
def scorer(trained: Trained, policy: ScoringPolicy, actions: Actions) -> Scorer:
    return Scorer(
        Loaded(trained.model, "safecredit-risk", "test", "-"), policy, actions, CATALOGUE_VERSION
    )


@dataclass
class Api:
    client: TestClient
    app: FastAPI
    session: Session  # the test's session, on the same rolled-back connection
    province: Province
    backend: str

    def key(self, role: str, *, uscc: str | None = None, department: str | None = None) -> str:
        with self.session.begin_nested():
            _, token = create_key(
                self.session, role=role, uscc=uscc, department=department, name=f"test {role}"
            )
        return token

    def headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


ORIGIN = "https://testserver"  # the pages' cookies are Secure: the test client speaks https


def csrf_of(api: Api, *, lang: str = "zh") -> str:
    """The sign-in form's token (the client keeps the pre-session cookie it matches)."""
    api.client.base_url = ORIGIN  # type: ignore[assignment]
    form = api.client.get(f"/login?lang={lang}")
    found = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert found is not None, form.text
    return found.group(1)


def sign_in(api: Api, token: str, *, next: str = "/", origin: str = ORIGIN) -> Any:
    """The sign-in form posted as a browser on this site would post it (no redirect followed)."""
    data = {"key": token, "next": next, "csrf": csrf_of(api)}
    return api.client.post("/login", data=data, headers={"Origin": origin}, follow_redirects=False)


def settings_for(tmp: Path) -> Settings:
    return Settings.model_validate(
        {
            "database": {"url": f"sqlite:///{tmp / 'unused.db'}"},
            "mlflow": {"tracking_uri": f"sqlite:///{tmp / 'mlflow.db'}"},
            "service": {"book_days": []},  # tests that want books make their own
        }
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def api(
    request: pytest.FixtureRequest,
    provinces: Callable[[str], Province],
    scorer: Scorer,
    tmp_path: Path,
) -> Iterator[Api]:
    province: Province = provinces(request.param)
    with province.engine.connect() as connection:
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        app = create_app(settings_for(tmp_path), engine=province.engine, scorer=scorer)

        def joined() -> Iterator[Session]:
            with Session(bind=connection, join_transaction_mode="create_savepoint") as s:
                yield s

        app.dependency_overrides[get_session] = joined
        with TestClient(app) as client:
            yield Api(client, app, session, province, request.param)
        session.close()
        outer.rollback()
