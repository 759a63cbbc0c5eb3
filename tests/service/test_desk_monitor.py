"""The monitor on the regulator's desk: an alert banner linking the latest report when a
threshold was exceeded, the report itself for regulators only, offline (no script, no link out)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from models.monitor.html import render
from models.monitor.policy import load_monitor_policy
from models.monitor.report import Inputs, build
from tests.service.conftest import Api
from tests.service.desks import signed


def _write_report(folder: Path, as_of: str, psi_limit: float) -> None:
    books = pd.DataFrame(
        {
            "book": "2024-01-01",
            "uscc": ["a", "b", "c", "d"],
            "p": [0.1, 0.2, 0.3, 0.4],
            "score": [700, 650, 600, 500],
            "grade": list("ABCD"),
            "y": [0, 0, 1, 1],
        }
    )
    inputs = Inputs(
        books=books,
        grades_from=pd.Series({"a": "A"}),
        grades_to=pd.Series({"a": "B"}),
        reference=pd.DataFrame({"f": [1.0, 1, 2, 2]}),
        current=pd.DataFrame({"f": [1.0, 2, 2, 2]}),
        policies=None,
        features=("f",),
    )
    policy = load_monitor_policy()
    policy = policy.model_copy(
        update={"thresholds": policy.thresholds.model_copy(update={"psi_feature": psi_limit})}
    )
    report = build(
        inputs,
        policy,
        as_of=as_of,
        since="2024-01-01",
        migration_dates=("2024-01-01", as_of),
        versions={"model": "m/1"},
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"monitor-{as_of}.html").write_text(render(report))
    (folder / f"monitor-{as_of}.json").write_text(json.dumps(report.as_dict()))


def test_desk_alerts_and_links_the_latest_report(api: Api, tmp_path: Path) -> None:
    folder = tmp_path / "monitor"
    api.app.state.monitor_dir = folder
    regulator = api.key("regulator", department=api.province.department)
    signed(api, regulator)
    assert 'id="monitor"' not in api.client.get("/registry?lang=en").text  # no report yet
    assert api.client.get("/registry/monitor").status_code == 404
    _write_report(folder, "2025-06-30", psi_limit=5.0)  # within
    _write_report(folder, "2025-12-31", psi_limit=0.1)  # the latest: PSI of f passes 0.1
    desk = api.client.get("/registry?lang=en").text
    assert 'href="/registry/monitor?lang=en"' in desk
    assert "Monitor report of 2025-12-31: 1 threshold(s) exceeded" in desk
    assert 'role="alert"' in desk
    page = api.client.get("/registry/monitor")
    assert page.status_code == 200 and "drift: PSI of f 0.275 &gt; 0.1" in page.text
    nonce = page.headers["content-security-policy"].split("'nonce-")[1].split("'")[0]
    assert f'<style nonce="{nonce}">' in page.text and "<script" not in page.text
    assert "width=device-width" in page.text


def test_report_is_for_regulators_only(api: Api, tmp_path: Path) -> None:
    api.app.state.monitor_dir = tmp_path / "monitor"
    _write_report(tmp_path / "monitor", "2025-12-31", psi_limit=5.0)
    signed(api, api.key("enterprise", uscc=api.province.unlisted))
    assert api.client.get("/registry/monitor").status_code == 403
