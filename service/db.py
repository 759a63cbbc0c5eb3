"""Engines, sessions and migrations. Schema changes go through Alembic only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from registry import seal
from registry.seal import Sealer
from service.settings import get_settings

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str, *, echo: bool = False, **pool: Any) -> Engine:
    """An engine for ``url``; SQLite files get their folder created and foreign keys enforced.
    ``pool``: the pool's settings (``pool_size=``, …) for a file or a server."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        file = parsed.database if parsed.database not in (None, "", ":memory:") else None
        if file is not None:
            Path(file).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, **(pool if file is not None else {}))
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, **pool)


def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
    # straight to the driver: the same statement as ``conn.exec_driver_sql("BEGIN")`` without
    # a trip through SQLAlchemy's execution machinery on every transaction
    conn.connection.dbapi_connection.execute("BEGIN")


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # Let SQLAlchemy, not pysqlite, open transactions, so that savepoints work (see
    # "Serializable isolation / Savepoints / Transactional DDL" in SQLAlchemy's SQLite notes).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


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
