"""``safecredit notify watch …`` and revision 0009 (up, down, up again) on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect
from typer.testing import CliRunner

from features.uscc import with_check
from service.cli.main import app
from service.store.db import alembic_config, make_engine, upgrade
from service.store.settings import get_settings

TABLES = {
    "notify_head",
    "notify_events",
    "watchlists",
    "watchlist_codes",
    "notify_subscriptions",
    "notify_deliveries",
    "notify_attempts",
    "notify_marks",
    "notify_grades",
}


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("SAFECREDIT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_watchlists_from_the_command_line(cli: CliRunner, tmp_path: Path) -> None:
    made = cli.invoke(app, ["keys", "create", "--role", "insurer", "--name", "ins"])
    assert made.exit_code == 0, made.output
    key_id = made.output.split()[1]
    codes = [with_check(f"9114010066600000{i}") for i in range(3)]
    (tmp_path / "codes.txt").write_text("\n".join(codes[1:]) + "\n")
    create = ["notify", "watch", "create", "--key-id", key_id, "--name", "book", codes[0]]
    done = cli.invoke(app, [*create, "--file", str(tmp_path / "codes.txt")])
    assert done.exit_code == 0 and ": 3 codes" in done.output, done.output
    wid = done.output.split()[1]
    bad = cli.invoke(app, ["notify", "watch", "add", "--key-id", key_id, wid, "91XX"])
    assert bad.exit_code == 2 and "codes[0] '91XX'" in bad.output
    gone = cli.invoke(app, ["notify", "watch", "remove", "--key-id", key_id, wid, codes[0]])
    assert gone.exit_code == 0 and "1 removed, 2 codes" in gone.output
    listed = cli.invoke(app, ["notify", "watch", "list", "--key-id", key_id])
    assert listed.output.strip() == f"{wid}\tbook\t2"
    assert cli.invoke(app, ["notify", "watch", "delete", "--key-id", key_id, wid]).exit_code == 0
    once = cli.invoke(app, ["notify", "run", "--once"])
    assert once.exit_code == 0, once.output


def test_revision_0009_goes_down_and_up_again(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES
    command.downgrade(alembic_config(engine), "0008")
    assert not TABLES & set(inspect(engine).get_table_names())
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES
    engine.dispose()
