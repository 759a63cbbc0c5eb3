"""``safecredit plan inspections`` and ``plan prevention`` on the simulated province."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from service.cli import context
from service.cli.main import app
from service.engine.decisions import Scorer
from tests.service.conftest import Province


@pytest.fixture
def run(
    provinces: Callable[[str], Province], scorer: Scorer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Any]]:
    monkeypatch.setattr(context, "scorer", lambda: scorer)
    monkeypatch.setattr(context, "engine", lambda: provinces("sqlite").engine)
    yield lambda *args: CliRunner().invoke(app, ["plan", *args])


def test_inspection_plan_same_seed_same_plan(run: Callable[..., Any], tmp_path: Path) -> None:
    args = ["inspections", "--as-of", "2025-12-31", "--capacity", "15", "--random-share", "0.4"]
    one = run(*args, "--seed", "9", "--out", str(tmp_path / "one.json"))
    two = run(*args, "--seed", "9", "--out", str(tmp_path / "two.json"))
    assert one.exit_code == 0 and two.exit_code == 0, one.output
    a, b = (json.loads((tmp_path / f).read_text()) for f in ("one.json", "two.json"))
    assert a["plan"] == b["plan"] and len(a["plan"]) == 15 and a["random"] == 6
    assert "9 ranked, 6 at random" in one.output
    refused = run("inspections", "--as-of", "2025-12-31", "--capacity", "5", "--region", "99")
    assert refused.exit_code == 2 and "no enterprise known" in refused.output


def test_prevention_plan_of_a_book(
    run: Callable[..., Any], provinces: Callable[[str], Province], tmp_path: Path
) -> None:
    codes = pd.read_sql("SELECT DISTINCT uscc FROM enterprises", provinces("sqlite").engine)
    book = tmp_path / "book.csv"
    codes.head(300).assign(premium_cny=50_000.0).to_csv(book, index=False)
    out = tmp_path / "prevention.csv"
    result = run(
        "prevention",
        "--book",
        str(book),
        "--capacity",
        "40",
        "--as-of",
        "2025-12-31",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(out.with_suffix(".json").read_text())
    s = answer["summary"]
    assert s["budget_cny"] == pytest.approx(300 * 50_000 * 0.05)
    assert s["services_planned"] <= 40 and s["cost_cny"] <= s["budget_cny"]
    assert len(pd.read_csv(out)) == s["services_planned"]
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"uscc": ["X"], "premium_cny": ["lots"]}).to_csv(bad, index=False)
    refused = run("prevention", "--book", str(bad), "--capacity", "5", "--as-of", "2025-12-31")
    assert refused.exit_code == 2 and "row 2: premium_cny" in refused.output
