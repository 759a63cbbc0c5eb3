"""The ``registry`` CLI walks a listing from proposal to removal on a scratch SQLite database."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from features.uscc import with_check
from service.cli.registry import app
from service.store.db import make_engine, upgrade
from service.store.settings import get_settings
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


def test_cli_walk_from_proposal_to_removal(db, tmp_path, frozen):
    run = CliRunner().invoke
    frozen.day = D(2024, 2, 2)
    out = run(
        app,
        ["evaluate", "--as-of", "2024-02-02", "--record", "--department", DEPT, "--actor", "reg-1"],
    )
    assert out.exit_code == 0, out.output
    assert "S6 (violations V-" in out.output and "('" not in out.output  # readable
    entry_id = re.search(r"entered ([0-9a-f]{32})", out.output).group(1)
    again = run(app, ["evaluate", "--as-of", "2024-02-02"])
    assert "0 new proposal(s)" in again.output
    who = ["--actor", "reg-1", "--department", DEPT]
    for action, day in [
        ("notify", D(2024, 2, 5)),
        ("decide", D(2024, 3, 1)),
        ("publish", D(2024, 3, 4)),
    ]:
        frozen.day = day
        res = run(app, ["act", action, entry_id, *who, "--reason", action])
        assert res.exit_code == 0, res.output
        assert f"on {day}" in res.output and "recorded at" in res.output
    frozen.day = D(2024, 6, 1)
    refused = run(app, ["act", "apply-repair", entry_id, *who, "--reason", "too early"])
    assert refused.exit_code == 1 and "from 2025-03-04" in refused.output
    checked = run(app, ["check", db, "--domain", "bidding", "--as-of", "2024-06-01"])
    (result,) = json.loads(checked.stdout)
    assert (result["status"], result["restricted"]) == ("restricted", True)
    frozen.day = D(2025, 3, 4)
    res = run(
        app,
        ["act", "apply-repair", entry_id, "--commitment-signed-on", "2025-03-01", *who,
         "--reason", "repair"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "term_served: met" in res.output and "earliest approval: 2025-03-04" in res.output
    frozen.day = D(2025, 3, 10)
    res = run(app, ["act", "approve-repair", entry_id, *who, "--reason", "repair"])
    assert res.exit_code == 0, res.output
    checked = run(app, ["check", db, "--domain", "bidding", "--as-of", "2025-03-10"])
    assert json.loads(checked.stdout)[0]["status"] == "clear"
    shown = json.loads(run(app, ["show", entry_id, "--on", "2025-03-10"]).output)
    assert shown["status"]["state"] == "removed"
    assert [a["on"] for a in shown["actions"]][-1] == "2025-03-10"
    assert all(a["recorded_at"] for a in shown["actions"])
    listed = run(app, ["list", "--state", "removed", "--on", "2025-03-10"]).output.splitlines()
    assert listed[0].startswith("entry_id\tuscc\tname\trules\tstate")
    assert len(listed) == 2 and listed[1].split("\t")[:5] == [
        entry_id, db, f"企业{db[-6:]}", "S6", "removed"
    ]  # fmt: skip
    assert run(app, ["list", "--state", "published"]).output.count("\n") == 1  # the header
    assert run(app, ["verify"]).exit_code == 0
    exported = run(app, ["export", "--as-of", "2024-06-01", "--out", str(tmp_path / "x")])
    assert exported.exit_code == 0 and (tmp_path / "x" / "published-2024-06-01.json").exists()


def test_cli_dates_are_the_servers(db, frozen):
    run = CliRunner().invoke
    frozen.day = D(2024, 2, 2)
    out = run(app, ["evaluate", "--as-of", "2024-02-02", "--record", "--department", DEPT,
                    "--actor", "reg-1"])  # fmt: skip
    entry_id = re.search(r"entered ([0-9a-f]{32})", out.output).group(1)
    who = ["--actor", "reg-1", "--department", DEPT, "--reason", "notice"]
    future = run(app, ["act", "notify", entry_id, "--on", "2024-02-03", *who])
    assert future.exit_code == 2 and "after today (2024-02-02)" in future.output
    frozen.day = D(2024, 3, 20)
    too_late = run(app, ["act", "notify", entry_id, "--on", "2024-02-05", *who, "--late-reason",
                         "paper notice"])  # fmt: skip
    assert too_late.exit_code == 2 and "allows at most 30 days" in too_late.output
    no_reason = run(app, ["act", "notify", entry_id, "--on", "2024-03-01", *who])
    assert no_reason.exit_code == 2 and "late_reason" in no_reason.output
    late = run(app, ["act", "notify", entry_id, "--on", "2024-03-01", *who, "--late-reason",
                     "notice served on paper"])  # fmt: skip
    assert late.exit_code == 0, late.output
    shown = json.loads(run(app, ["show", entry_id]).output)
    assert shown["actions"][-1]["details"]["late_entry"] == {
        "entered_on": "2024-03-20",
        "reason": "notice served on paper",
    }
    bad = run(app, ["act", "correct", entry_id, *who, "--corrections", "{name: x"])
    assert bad.exit_code == 2 and "--corrections: not JSON" in bad.output
    assert "Traceback" not in bad.output
    unknown = run(app, ["act", "correct", entry_id, *who, "--corrections", '{"rule": "S1"}'])
    assert unknown.exit_code == 2 and "details.corrections.rule" in unknown.output


def test_cli_evaluate_record_needs_a_department_with_proposals(db, frozen):
    run = CliRunner().invoke
    frozen.day = D(2024, 2, 2)
    bare = run(app, ["evaluate", "--as-of", "2024-02-02", "--record", "--actor", "reg-1"])
    assert bare.exit_code == 2 and "--record needs --department" in bare.output
    other = run(app, ["evaluate", "--as-of", "2024-02-02", "--record", "--department", "别的局",
                      "--actor", "reg-1"])  # fmt: skip
    assert other.exit_code == 1 and f"departments with proposals: {DEPT}" in other.output
    future = run(app, ["evaluate", "--as-of", "2024-02-03"])
    assert future.exit_code == 2


def test_cli_check_gives_four_statuses(db, frozen):
    frozen.day = D(2024, 6, 1)
    unknown = with_check("91140100MA0000001")
    wrong_check = db[:17] + ("0" if db[17] != "0" else "1")
    out = CliRunner().invoke(
        app, ["check", db, unknown, "12345", wrong_check, "--domain", "bidding"]
    )
    assert out.exit_code == 0, out.output
    results = json.loads(out.stdout)
    assert [r["status"] for r in results] == ["clear", "not_found", "invalid", "invalid"]
    assert results[0]["name"] == f"企业{db[-6:]}" and results[0]["as_of"] == "2024-06-01"
    assert "18 characters" in results[2]["note"]
    assert "check character" in results[3]["note"]
    assert not any(r["restricted"] for r in results)


INJECTED = '=HYPERLINK("http://x","y")'


def _published_and_renamed(db, frozen) -> str:
    """Walk the entry to publication, then correct its name to a formula; its id."""
    run = CliRunner().invoke
    frozen.day = D(2024, 2, 2)
    out = run(app, ["evaluate", "--as-of", "2024-02-02", "--record", "--department", DEPT,
                    "--actor", "reg-1"])  # fmt: skip
    entry_id = re.search(r"entered ([0-9a-f]{32})", out.output).group(1)
    who = ["--actor", "reg-1", "--department", DEPT]
    for action, day in [("notify", D(2024, 2, 5)), ("decide", D(2024, 3, 1)),
                        ("publish", D(2024, 3, 4)), ("correct", D(2024, 3, 6))]:  # fmt: skip
        frozen.day = day
        fix = ["--corrections", json.dumps({"name": INJECTED})] if action == "correct" else []
        res = run(app, ["act", action, entry_id, *who, "--reason", action, *fix])
        assert res.exit_code == 0, res.output
    frozen.day = D(2024, 6, 1)
    return entry_id


def test_cli_export_never_writes_a_formula(db, frozen, tmp_path):
    import openpyxl
    import pandas as pd

    entry_id = _published_and_renamed(db, frozen)
    run = CliRunner().invoke
    folder = run(app, ["export", "--as-of", "2024-06-01", "--out", str(tmp_path / "platform")])
    assert folder.exit_code == 0, folder.output
    csv = tmp_path / "platform" / "published-2024-06-01.csv"
    raw = csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and DEPT.encode() in raw  # Excel reads the Chinese
    text = raw.decode("utf-8-sig")
    assert ',"\'=HYPERLINK(""http://x"",""y"")",' in text  # the corrected name, as text
    assert f",{INJECTED}" not in text and ',"=HYPERLINK' not in text
    doc = json.loads((tmp_path / "platform" / "published-2024-06-01.json").read_text("utf-8"))
    assert doc["entries"][0]["name"] == INJECTED  # the platform's JSON holds the value itself
    for ext in ("csv", "xlsx", "json", "parquet"):
        path = tmp_path / f"list.{ext}"
        res = run(app, ["export", "--as-of", "2024-06-01", "--out", str(path)])
        assert res.exit_code == 0 and f"{ext}: {path}" in res.output, res.output
    book = openpyxl.load_workbook(tmp_path / "list.xlsx").active
    header, row = ([c for c in r] for r in book.iter_rows(max_row=2))
    cell = dict(zip([c.value for c in header], row, strict=True))
    assert (cell["name"].value, cell["name"].data_type) == (INJECTED, "s")
    assert cell["name"].quotePrefix and cell["department"].value == DEPT
    assert cell["entry_id"].value == entry_id and cell["published_on"].value.year == 2024
    assert json.loads((tmp_path / "list.json").read_text("utf-8"))[0]["department"] == DEPT
    assert pd.read_parquet(tmp_path / "list.parquet")["name"].tolist() == [INJECTED]
    back = pd.read_csv(tmp_path / "list.csv", encoding="utf-8-sig", dtype={"uscc": str})
    assert back["name"].tolist() == [f"'{INJECTED}"] and back["uscc"].tolist() == [db]


def test_cli_list_writes_each_format(db, frozen, tmp_path):
    import openpyxl
    import pandas as pd

    entry_id = _published_and_renamed(db, frozen)
    run = CliRunner().invoke
    for ext in ("csv", "xlsx", "json", "parquet"):
        res = run(app, ["list", "--out", str(tmp_path / f"entries.{ext}")])
        assert res.exit_code == 0 and "1 entries on 2024-06-01" in res.output, res.output
    back = pd.read_csv(tmp_path / "entries.csv", encoding="utf-8-sig")
    assert (tmp_path / "entries.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert back.loc[0, "department"] == DEPT and back.loc[0, "state"] == "published"
    sheet = openpyxl.load_workbook(tmp_path / "entries.xlsx").active
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    assert values[0][:3] == ["entry_id", "uscc", "name"] and values[1][0] == entry_id
    assert values[1][-1] == DEPT
    (record,) = json.loads((tmp_path / "entries.json").read_text("utf-8"))
    assert record["department"] == DEPT and record["published_on"] == "2024-03-04"
    assert pd.read_parquet(tmp_path / "entries.parquet")["uscc"].tolist() == [db]
    listed = run(app, ["list"]).output.splitlines()  # stdout stays tab-separated
    assert listed[0].startswith("entry_id\tuscc") and listed[1].startswith(entry_id)


@pytest.mark.parametrize("command", [["list"], ["export", "--as-of", "2024-06-01"]])
def test_cli_refuses_an_unknown_extension_before_any_work(command, tmp_path, monkeypatch):
    monkeypatch.setenv("SAFECREDIT_DATABASE_URL", f"sqlite:///{tmp_path / 'none' / 'x.db'}")
    get_settings.cache_clear()  # no database at all: the refusal comes first
    out = CliRunner().invoke(
        app, [*command, "--out", str(tmp_path / "list.xls")], env={"COLUMNS": "300"}
    )
    assert out.exit_code == 2
    assert "unknown extension '.xls'; the extensions allowed are .csv, .xlsx" in out.output
    assert "Traceback" not in out.output
    assert list(tmp_path.iterdir()) == []
    get_settings.cache_clear()


def test_cli_evaluate_shows_progress_on_request_and_keeps_stdout_for_results(db, frozen):
    from service.cli.progress import bar, shown

    frozen.day = D(2024, 2, 2)
    out = CliRunner().invoke(app, ["evaluate", "--as-of", "2024-02-02", "--progress"])
    assert out.exit_code == 0, out.output
    assert "1 new proposal(s)" in out.output
    assert "evaluating mem11" in out.stderr and "proposals: 100%" in out.stderr
    assert "evaluating" not in out.stdout and "S6" in out.stdout
    quiet = CliRunner().invoke(app, ["evaluate", "--as-of", "2024-02-02", "--no-progress"])
    assert quiet.exit_code == 0 and "evaluating" not in quiet.stderr
    assert shown(None) is False  # not a terminal: quiet unless asked
    assert bar(False, total=3, unit="x", desc="d").disable
