"""Engines, sessions and migrations. Schema changes go through Alembic only."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

import service.store.outbox  # noqa: F401  (registry actions become events: see below)
from registry import seal
from registry.seal import Sealer
from service.store.settings import ServiceSettings, get_settings

MIGRATIONS = Path(__file__).with_name("migrations")
# ``service.store.outbox`` above registers the listener that makes every registry action a
# notification event in its own transaction, wherever the service's database is used (here, not
# at ``import service``, so that the command line's --help loads no database library).


def make_engine(
    url: str, *, echo: bool = False, busy_timeout_seconds: float = 5.0, **pool: Any
) -> Engine:
    """An engine for ``url``; SQLite files get their folder created and foreign keys enforced,
    and a locked file is waited for ``busy_timeout_seconds``. ``pool``: the pool's settings
    (``pool_size=``, …) for a file or a server."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        file = parsed.database if parsed.database not in (None, "", ":memory:") else None
        if file is not None and not file.startswith("file:"):  # not a URI (``?uri=true``)
            Path(file).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, **(pool if file is not None else {}))
        busy = round(busy_timeout_seconds * 1000)
        event.listen(engine, "connect", lambda dbapi, record: _sqlite_pragmas(dbapi, busy))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, **pool)


def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
    # straight to the driver: the same statement as ``conn.exec_driver_sql("BEGIN")`` without
    # a trip through SQLAlchemy's execution machinery on every transaction
    conn.connection.dbapi_connection.execute("BEGIN")


def _sqlite_pragmas(dbapi_connection, busy_ms: int) -> None:  # type: ignore[no-untyped-def]
    # Let SQLAlchemy, not pysqlite, open transactions, so that savepoints work (see
    # "Serializable isolation / Savepoints / Transactional DDL" in SQLAlchemy's SQLite notes).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cursor.close()


class _Answering(psycopg.Connection[Any]):
    """A psycopg connection that waits at most ``reply_timeout`` seconds for any answer from
    the server (every round trip: statements, commits, rollbacks, the pool's ping). Past it
    the connection is closed, being in an unknown state, and the wait raises an
    ``OperationalError`` that SQLAlchemy takes for a disconnect: the pool drops the connection
    and the request answers 503, instead of waiting on a server (or a proxy) that keeps the
    connection open and says nothing."""

    reply_timeout: float | None = None

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        if timeout is not None or self.reply_timeout is None:
            return super().wait(gen, interval=interval, timeout=timeout)
        deadline = time.monotonic() + self.reply_timeout
        try:
            return super().wait(gen, interval=interval, timeout=self.reply_timeout)
        except psycopg.OperationalError as exc:
            if time.monotonic() < deadline:
                raise
            self.pgconn.finish()
            raise psycopg.OperationalError(
                f"no answer from the database within {self.reply_timeout:g} s"
            ) from exc


def guard_server(engine: Engine, limits: ServiceSettings) -> None:
    """Bound every wait on ``engine``'s PostgreSQL server (libpq, psycopg 3): the server's
    ``statement_timeout``, TCP keepalives and the TCP user timeout on every connection, and for
    psycopg the client's reply timeout (see :class:`_Answering`). Values already in the URL win
    (``options`` are added to)."""
    libpq: dict[str, Any] = {
        "keepalives": 1,
        "keepalives_idle": limits.keepalives_idle_seconds,
        "keepalives_interval": limits.keepalives_interval_seconds,
        "keepalives_count": limits.keepalives_count,
        "tcp_user_timeout": round(limits.tcp_user_timeout_seconds * 1000),
    }
    statement = f"-c statement_timeout={round(limits.statement_timeout_seconds * 1000)}"
    psycopg3 = engine.dialect.driver == "psycopg"

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect, _record, cargs, cparams):  # type: ignore[no-untyped-def]
        for name, value in libpq.items():
            cparams.setdefault(name, value)
        cparams["options"] = " ".join(filter(None, (cparams.get("options"), statement)))
        if not psycopg3:
            return None  # the dialect connects, with these parameters
        connection = _Answering.connect(*cargs, **cparams)
        connection.reply_timeout = limits.reply_timeout_seconds
        return connection


@contextmanager
def unhurried(session: Session) -> Iterator[None]:
    """Lift the service's statement and reply timeouts for the session's current transaction:
    for work in the background that reads a whole province (a score book), not for answers."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        yield
        return
    connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
    raw = connection.connection.dbapi_connection
    before = getattr(raw, "reply_timeout", None)
    if isinstance(raw, _Answering):
        raw.reply_timeout = None
    try:
        yield
    finally:
        if isinstance(raw, _Answering):
            raw.reply_timeout = before


def database_state(engine: Engine, *, timeout: float) -> str:
    """``"ok"`` when the database answers within ``timeout`` seconds and can be written, else
    why not. The probe runs in a thread of its own, one at a time per engine: a probe still
    waiting on a silent database is waited for again rather than joined by another."""
    with _PROBES_LOCK:
        probe = _PROBES.get(engine)
        if probe is None or probe.done():
            probe = _PROBES[engine] = Future()
            threading.Thread(
                target=_run_probe, args=(engine, probe), name="readyz-probe", daemon=True
            ).start()
    try:
        return probe.result(timeout=timeout)
    except FutureTimeout:
        return f"unavailable: no answer within {timeout:g} s"


_PROBES: dict[Engine, Future[str]] = {}
_PROBES_LOCK = threading.Lock()


def _run_probe(engine: Engine, probe: Future[str]) -> None:
    try:
        state = _writable(engine)
    except OperationalError as exc:
        state = _why(exc)
    except SQLAlchemyError as exc:
        state = f"unavailable: {exc.__class__.__name__}"
    except BaseException as exc:  # the thread's end: the waiting request reports it
        probe.set_exception(exc)
        return
    probe.set_result(state)


def _writable(engine: Engine) -> str:
    """``"ok"`` or why the database cannot be written, changing nothing."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            if conn.exec_driver_sql("PRAGMA query_only").scalar():
                return "read-only: PRAGMA query_only is on"
            file = engine.url.database
            if file not in (None, "", ":memory:") and not file.startswith("file:"):
                path = Path(file)
                for where in (path, path.parent):  # the WAL's files are made beside it
                    if not os.access(where, os.W_OK):
                        return f"read-only: {where} cannot be written by this process"
            try:  # a write, rolled back: a file opened read-only refuses it
                conn.exec_driver_sql("CREATE TABLE _readyz_probe (x INTEGER)")
            except OperationalError as exc:
                return _why(exc)
            finally:
                conn.rollback()
            return "ok"
        if engine.dialect.name == "postgresql":
            standby, read_only = conn.execute(
                text("SELECT pg_is_in_recovery(), current_setting('transaction_read_only')")
            ).one()
            if standby:
                return "read-only: the server is a standby (in recovery)"
            if read_only == "on":
                return "read-only: transactions are read-only (default_transaction_read_only)"
            return "ok"
        conn.execute(text("SELECT 1"))
        return "ok"


def _why(exc: OperationalError) -> str:
    lines = str(exc.orig).strip().splitlines()
    message = lines[0] if lines else type(exc.orig).__name__
    kind = "read-only" if "readonly" in message or "read-only" in message else "unavailable"
    return f"{kind}: {message}"


def signing_key(path: Path | None = None) -> Sealer:
    """Configure the key the chains are sealed with: ``path``, or the setting
    ``SAFECREDIT_SIGNING_KEY_FILE`` (the file is created, mode 0600, on first use)."""
    return seal.configure(path or get_settings().signing_key_file)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (the newest by default)."""
    command.upgrade(alembic_config(engine), revision)


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def migrated_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url`` with the schema brought to the newest revision."""
    signing_key()
    engine = make_engine(url, echo=echo)
    upgrade(engine)
    return engine
