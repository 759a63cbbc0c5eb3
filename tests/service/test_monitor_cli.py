"""``safecredit monitor`` on the simulated province (SQLite and PostgreSQL): the report's files,
exit 0 within the thresholds, 1 past one (for a scheduler), 2 when it cannot be made."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

import service.engine.monitor_run
from service.cli import context
from service.cli.main import app
from service.engine.decisions import Scorer
from service.store.settings import get_settings
from tests.service.conftest import Province

POLICY = Path("models/policies/monitor-2026.1.toml")


def _policy(tmp_path: Path, name: str, **changes: str) -> Path:
    text = POLICY.read_text()
    for old, new in changes.items():
        assert old in text
        text = text.replace(old, new)
    out = tmp_path / f"{name}.toml"
    out.write_text(text)
    return out


LENIENT = {
    "min_auc = 0.65": "min_auc = 0.5",
    "psi_feature = 0.25": "psi_feature = 50.0",
    "psi_score = 0.25": "psi_score = 50.0",
    "calibration_ratio = [0.67, 1.5]": "calibration_ratio = [0.01, 100.0]",
    "grade_order = true": "grade_order = false",
}


@pytest.fixture
def run(
    provinces: Callable[[str], Province],
    scorer: Scorer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., object]:
    monkeypatch.setenv("SAFECREDIT_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    monkeypatch.setattr(context, "scorer", lambda: scorer)
    # the test's model was trained on the quarters of 2023 (its run is not in MLflow)
    monkeypatch.setattr(
        service.engine.monitor_run, "training_dates", lambda *_: ("2023-01-01", "2023-10-01")
    )

    def invoke(backend: str, *args: str) -> object:
        monkeypatch.setattr(context, "engine", lambda: provinces(backend).engine)
        return CliRunner().invoke(app, ["monitor", "--no-mlflow", "--no-progress", *args])

    yield invoke
    get_settings.cache_clear()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_monitor_within_thresholds_exits_0_and_writes_html_and_json(
    run: Callable[..., object], tmp_path: Path, backend: str
) -> None:
    lenient = _policy(tmp_path, "lenient", **LENIENT)
    args = ["--as-of", "2025-12-31", "--since", "2024-07-01", "--policy", str(lenient)]
    result = run(backend, *args, "--out", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "no threshold exceeded" in result.output  # type: ignore[attr-defined]
    report = json.loads((tmp_path / "r" / "monitor-2025-12-31.json").read_text())
    assert [r["book"] for r in report["calibration"]] == ["2024-07-01", "2024-10-01"]
    assert report["versions"]["monitor_policy"].startswith("2026.1")
    assert sum(sum(row) for row in report["migration"]["counts"]) > 0
    assert {r["feature"] for r in report["psi"]} >= {"score"}
    page = (tmp_path / "r" / "monitor-2025-12-31.html").read_text()
    assert "data:image/png;base64," in page and "<script" not in page


def test_monitor_past_a_threshold_exits_1_and_names_it(
    run: Callable[..., object], tmp_path: Path
) -> None:
    strict = _policy(tmp_path, "strict", **{**LENIENT, "min_auc = 0.65": "min_auc = 0.999"})
    args = ["--as-of", "2025-12-31", "--since", "2024-07-01", "--policy", str(strict)]
    result = run("sqlite", *args, "--out", str(tmp_path / "r"))
    assert result.exit_code == 1, result.output  # type: ignore[attr-defined]
    assert "discrimination: book 2024-07-01: AUC" in result.output  # type: ignore[attr-defined]
    assert (tmp_path / "r" / "monitor-2025-12-31.html").exists()  # the desk links to it


def test_monitor_refuses_with_2(run: Callable[..., object], tmp_path: Path) -> None:
    late = run("sqlite", "--as-of", "2025-12-31", "--since", "2026-01-01")
    assert late.exit_code == 2 and "must be before" in late.output  # type: ignore[attr-defined]
    # no book's 12-month window has closed by then
    early = run("sqlite", "--as-of", "2025-03-31", "--since", "2024-07-01")
    assert early.exit_code == 2 and "closed" in early.output  # type: ignore[attr-defined]
    bad = _policy(tmp_path, "bad", **{"min_auc = 0.65": "min_auc = 2"})
    refused = run("sqlite", "--as-of", "2025-12-31", "--policy", str(bad))
    assert refused.exit_code == 2 and "min_auc" in refused.output  # type: ignore[attr-defined]
