"""Shared fixtures: the storage layer runs on SQLite **and** on the PostgreSQL server at
127.0.0.1:5432 (database ``test``). PostgreSQL is not optional: if it is unreachable the run
fails, unless ``SAFECREDIT_TEST_POSTGRES=off`` says on purpose that this run goes without it.

Each database is migrated once per session; each test runs inside an outer transaction that is
rolled back, the code under test committing to savepoints
(``join_transaction_mode="create_savepoint"``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Iterator

import pandas as pd
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from experiments.simulate import World, simulate
from features.store import History
from features.training import as_of_grid, training_set
from models.policy import ScoringPolicy, load_policy
from models.recourse import Actions, load_actions
from models.training import Trained, fit_all, load_config
from registry import clock, seal
from registry.seal import Sealer
from service.store.db import make_engine, upgrade
from service.store.settings import get_settings

PG_URL = os.environ.get(
    "SAFECREDIT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PG_SCHEMA = f"safecredit_test_{os.getpid()}"  # one per run: runs side by side never collide
BACKENDS = ["sqlite", "postgresql"]


def _postgres_engine() -> Engine:
    admin = make_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    except Exception as exc:
        pytest.fail(
            f"PostgreSQL at {PG_URL} is unreachable ({exc.__class__.__name__}: {exc}); the "
            "storage tests need it. Set SAFECREDIT_TEST_POSTGRES=off to run without it on purpose.",
            pytrace=False,
        )
    finally:
        admin.dispose()
    from sqlalchemy import create_engine

    return create_engine(
        PG_URL, connect_args={"options": f"-csearch_path={PG_SCHEMA}"}, pool_pre_ping=True
    )


@pytest.fixture(scope="session", autouse=True)
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sealer]:
    """The run's signing key, in a temporary file (the setting points there too, for the
    commands and the app under test)."""
    path = tmp_path_factory.mktemp("signing") / "signing.key"
    saved = os.environ.get("SAFECREDIT_SIGNING_KEY_FILE")
    os.environ["SAFECREDIT_SIGNING_KEY_FILE"] = str(path)
    get_settings.cache_clear()
    yield seal.configure(path)
    if saved is None:
        os.environ.pop("SAFECREDIT_SIGNING_KEY_FILE", None)
    else:
        os.environ["SAFECREDIT_SIGNING_KEY_FILE"] = saved
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def engines() -> Iterator[dict[str, Engine]]:
    """Migrated engines by backend name, created on first use; this run's schema is dropped at
    the end."""
    made: dict[str, Engine] = {}
    yield made
    for engine in made.values():
        engine.dispose()
    if "postgresql" in made:
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        admin.dispose()


def _engine(backend: str, engines: dict[str, Engine], tmp: pytest.TempPathFactory) -> Engine:
    if backend not in engines:
        if backend == "sqlite":
            engine = make_engine(f"sqlite:///{tmp.mktemp('sqlite') / 'safecredit.db'}")
        else:
            if os.environ.get("SAFECREDIT_TEST_POSTGRES") == "off":
                pytest.skip("PostgreSQL switched off by SAFECREDIT_TEST_POSTGRES=off")
            engine = _postgres_engine()
        upgrade(engine)
        engines[backend] = engine
    return engines[backend]


@pytest.fixture(params=BACKENDS)
def engine(
    request: pytest.FixtureRequest,
    engines: dict[str, Engine],
    tmp_path_factory: pytest.TempPathFactory,
) -> Engine:
    """A migrated engine, once per backend (tests that need real commits use this)."""
    return _engine(request.param, engines, tmp_path_factory)


@pytest.fixture
def postgres_engine(engines: dict[str, Engine], tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The migrated PostgreSQL engine alone, for what only a server proves (row locks, races)."""
    return _engine("postgresql", engines, tmp_path_factory)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose every commit is rolled back when the test ends."""
    with engine.connect() as connection:
        outer = connection.begin()
        with Session(bind=connection, join_transaction_mode="create_savepoint") as db:
            yield db
        outer.rollback()


# -- a small simulated province and a model trained on it, shared by the tests ----------------
END = dt.date(2025, 12, 31)


@pytest.fixture(scope="session")
def world() -> World:
    return simulate(1500, 4, seed=5, end=END)


@pytest.fixture(scope="session")
def history(world: World) -> History:
    return History.from_frames(world.tables)


@pytest.fixture(scope="session")
def data(history: History) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    grid = as_of_grid(history, "2023-01-01", END)
    return training_set(history, grid, data_end=END)


@pytest.fixture(scope="session")
def trained(data: tuple[pd.DataFrame, pd.Series, pd.DataFrame]) -> Trained:
    X, y, meta = data
    config = dataclasses.replace(load_config(), pairs={"candidates": 2, "min_gain_auc": 1.0})
    return fit_all(X, y, meta, config, seed=3)


@pytest.fixture(scope="session")
def policy() -> ScoringPolicy:
    return load_policy()


@pytest.fixture(scope="session")
def actions() -> Actions:
    return load_actions()


class Clock:
    """The server's clock, set by the test: ``clock.day = D(2024, 2, 5)`` makes that the
    registry's today (noon in Shanghai)."""

    def __init__(self, day: dt.date) -> None:
        self.moment = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
        self.day = day

    @property
    def day(self) -> dt.date:
        return self.moment.astimezone(clock.zone(clock.TIME_ZONE)).date()

    @day.setter
    def day(self, value: dt.date) -> None:
        # a new day starts later than every moment before it: the clock never goes back
        self.moment = max(
            dt.datetime.combine(value, dt.time(4, 0), tzinfo=dt.UTC),
            self.moment + dt.timedelta(microseconds=1),
        )

    def now(self) -> dt.datetime:
        self.moment += dt.timedelta(microseconds=1)
        return self.moment


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The registry's clock under the test's control (starting on 2024-01-01)."""
    fake = Clock(dt.date(2024, 1, 1))
    monkeypatch.setattr(clock, "now", fake.now)
    return fake
