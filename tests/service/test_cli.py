"""The command line: ingest refuses bad extracts with exit status 2 and names every problem."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from service.cli.main import app
from service.store.settings import get_settings
from tests.features import extracts


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SAFECREDIT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_ingest_loads_then_reports_nothing_new(cli: CliRunner, tmp_path: Path) -> None:
    folder = extracts.write(tmp_path / "x", extracts.tables())
    first = cli.invoke(app, ["ingest", str(folder), "--known-on", "2024-12-31"])
    assert first.exit_code == 0, first.output
    assert "load 1: 11 record versions" in first.output
    again = cli.invoke(app, ["ingest", str(folder), "--known-on", "2024-12-31"])
    assert again.exit_code == 0 and "nothing new" in again.output


def test_ingest_refuses_with_status_2_and_file_row_column(cli: CliRunner, tmp_path: Path) -> None:
    frames = extracts.tables()
    frames["hazards"].loc[1, "rectified_on"] = "2024-03-01"
    folder = extracts.write(tmp_path / "x", frames)
    result = cli.invoke(app, ["ingest", str(folder), "--known-on", "2024-12-31"])
    assert result.exit_code == 2
    assert "hazards.csv:3:rectified_on: rectified_on 2024-03-01 is before found_on" in result.output
    assert "nothing was loaded" in result.output


@pytest.mark.parametrize(
    ("table", "column", "value", "where"),
    [
        ("enterprises", "name", "大同某化工\x00有限公司", "enterprises.csv:3:name: control"),
        ("accidents", "deaths", "9" * 30, "accidents.csv:2:deaths: above 100,000"),
        ("accidents", "direct_loss_cny", "1e400", "accidents.csv:2:direct_loss_cny: not a finite"),
    ],
)
def test_ingest_refuses_impossible_cells_with_status_2_and_no_traceback(
    cli: CliRunner, tmp_path: Path, table: str, column: str, value: str, where: str
) -> None:
    frames = extracts.tables()
    frames[table].loc[1 if table == "enterprises" else 0, column] = value
    folder = extracts.write(tmp_path / "x", frames)
    result = cli.invoke(app, ["ingest", str(folder), "--known-on", "2024-12-31"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert where in result.output and "Traceback" not in result.output
    assert "nothing was loaded" in result.output


def test_ingest_encoding_and_required_manifest(cli: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "x"
    folder.mkdir()
    for name, frame in extracts.tables().items():
        frame.to_csv(folder / f"{name}.csv", index=False, encoding="gb18030")
    args = ["ingest", str(folder), "--known-on", "2024-12-31"]
    undecodable = cli.invoke(app, args)
    assert undecodable.exit_code == 2 and "--encoding gb18030" in undecodable.output
    no_manifest = cli.invoke(app, [*args, "--encoding", "gb18030", "--require-manifest"])
    assert no_manifest.exit_code == 2
    assert "manifest.json:0:-: missing, and --require-manifest was given" in no_manifest.output
    wrong = cli.invoke(app, [*args, "--encoding", "latin-1"])
    # the choices are checked while the arguments are parsed, and named
    assert wrong.exit_code == 2 and "'latin-1' is not one of" in wrong.output
    assert "'utf-8', 'gb18030'" in wrong.output
    loaded = cli.invoke(app, [*args, "--encoding", "gb18030"])
    assert loaded.exit_code == 0 and "load 1: 11 record versions" in loaded.output


def test_every_command_has_help(cli: CliRunner) -> None:
    for command in app.registered_commands:
        name = command.name or command.callback.__name__  # type: ignore[union-attr]
        result = cli.invoke(app, [name, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, name


def test_simulate_ingest_train_and_score_from_the_command_line(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFECREDIT_MLFLOW__TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("SAFECREDIT_MLFLOW__ARTIFACT_ROOT", str(tmp_path / "mlartifacts"))
    get_settings.cache_clear()
    province = tmp_path / "province"
    refused = cli.invoke(app, ["score", "--as-of", "2025-12-31", "--out", str(tmp_path / "s.csv")])
    assert refused.exit_code == 2 and "run `safecredit train` first" in refused.output
    steps = [
        ["simulate", "--enterprises", "700", "--years", "5", "--seed", "4", "--out", str(province)],
        ["ingest", str(province), "--known-on", "2025-12-31"],
        ["train", "--end", "2025-12-31", "--truth", str(province / "truth.csv")],
        ["score", "--as-of", "2025-12-31", "--out", str(tmp_path / "scores.parquet")],
    ]
    said = []
    for step in steps:
        result = cli.invoke(app, step)
        assert result.exit_code == 0, (step, result.output, result.exception)
        said.append(result.output)
    assert "safecredit-risk version 1 is now the champion" in said[2]
    assert "Successfully registered" not in said[2] and "Created version" not in said[2]
    scores = pd.read_parquet(tmp_path / "scores.parquet")
    assert len(scores) == 700 and scores["grade"].isin(list("ABCD")).all()
    assert {"reason1_en", "recourse1_action", "model_version"} <= set(scores.columns)
