"""The ``registry`` CLI walks a listing from proposal to removal on a scratch SQLite database."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from service.cli_registry import app
from service.db import make_engine, upgrade
from service.settings import get_settings
from tests.registry.conftest import D, History

DEPT = "太原市应急管理局"


@pytest.fixture
def db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("SAFECREDIT_DATABASE_URL", url)
    get_settings.cache_clear()
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as s, s.begin():
        h = History(s)
        uscc = h.enterprise()
        pid = h.penalty(uscc, D(2024, 2, 1), fulfilled_on=D(2024, 3, 1))
        h.violation(uscc, D(2024, 1, 5), "no_permit", penalty=pid)
    engine.dispose()
    yield uscc
    get_settings.cache_clear()


def test_cli_walk_from_proposal_to_removal(db, tmp_path):
    run = CliRunner().invoke
    out = run(
        app,
        ["evaluate", "--as-of", "2024-02-02", "--record", "--department", DEPT, "--actor", "reg-1"],
    )
    assert out.exit_code == 0, out.output
    entry_id = re.search(r"entered ([0-9a-f]{32})", out.output).group(1)
    again = run(app, ["evaluate", "--as-of", "2024-02-02"])
    assert "0 new proposal(s)" in again.output
    who = ["--actor", "reg-1", "--department", DEPT]
    for action, on in [
        ("notify", "2024-02-05"),
        ("decide", "2024-03-01"),
        ("publish", "2024-03-04"),
    ]:
        res = run(app, ["act", action, entry_id, "--on", on, *who, "--reason", action])
        assert res.exit_code == 0, res.output
    refused = run(
        app, ["act", "apply-repair", entry_id, "--on", "2024-06-01", *who, "--reason", "too early"]
    )
    assert refused.exit_code == 1 and "from 2025-03-04" in refused.output
    checked = run(app, ["check", db, "--domain", "bidding", "--as-of", "2024-06-01"])
    assert json.loads(checked.output)[0]["restricted"] is True
    for args in (
        ["apply-repair", "--commitment-signed-on", "2025-03-01", "--on", "2025-03-04"],
        ["approve-repair", "--on", "2025-03-10"],
    ):
        res = run(app, ["act", args[0], entry_id, *args[1:], *who, "--reason", "repair"])
        assert res.exit_code == 0, res.output
    checked = run(app, ["check", db, "--domain", "bidding", "--as-of", "2025-03-10"])
    assert json.loads(checked.output)[0]["restricted"] is False
    shown = run(app, ["show", entry_id, "--on", "2025-03-10"])
    assert json.loads(shown.output)["status"]["state"] == "removed"
    assert run(app, ["verify"]).exit_code == 0
    exported = run(app, ["export", "--as-of", "2024-06-01", "--out", str(tmp_path / "x")])
    assert exported.exit_code == 0 and (tmp_path / "x" / "published-2024-06-01.json").exists()
