"""Revision 0006 on a store with keys, on SQLite and PostgreSQL: the keys stay (no expiry, not
used yet), the ``sessions`` table appears, and the downgrade takes both away again."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, inspect, text

from service.store.db import alembic_config, make_engine, upgrade
from tests.conftest import BACKENDS, PG_URL


@pytest.fixture(params=BACKENDS)
def bare(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of its own (a fresh schema on PostgreSQL)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    if os.environ.get("SAFECREDIT_TEST_POSTGRES") == "off":
        pytest.skip("PostgreSQL switched off by SAFECREDIT_TEST_POSTGRES=off")
    schema = f"safecredit_m0006_{os.getpid()}"
    admin = make_engine(PG_URL)
    with admin.begin() as c:
        c.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        c.execute(text(f"CREATE SCHEMA {schema}"))
    engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    yield engine
    engine.dispose()
    with admin.begin() as c:
        c.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


def test_keys_are_kept_and_sessions_appear(bare: Engine) -> None:
    upgrade(bare, "0005")
    with bare.begin() as c:
        c.execute(
            text(
                "INSERT INTO api_keys (key_id, secret_sha256, role, name, created_at) "
                "VALUES ('k1', :sha, 'admin', 'old admin', CURRENT_TIMESTAMP)"
            ),
            {"sha": "0" * 64},
        )
    upgrade(bare)
    with bare.connect() as c:
        row = c.execute(text("SELECT key_id, expires_at, last_used_at FROM api_keys")).one()
    assert tuple(row) == ("k1", None, None)
    names = inspect(bare)
    assert "sessions" in names.get_table_names()
    assert {c["name"] for c in names.get_columns("sessions")} == {
        "id_sha256",
        "key_id",
        "created_at",
        "expires_at",
        "revoked_at",
    }
    command.downgrade(alembic_config(bare), "0005")
    names = inspect(bare)
    assert "sessions" not in names.get_table_names()
    assert "expires_at" not in {c["name"] for c in names.get_columns("api_keys")}
    with bare.connect() as c:
        assert c.execute(text("SELECT key_id FROM api_keys")).scalar_one() == "k1"
