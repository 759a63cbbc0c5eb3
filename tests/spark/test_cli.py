"""The commands: ``export-history``, then ``score`` and ``quote --book`` with ``--engine spark``
give the files ``--engine pandas`` gives, the champion coming from the MLflow registry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from experiments.simulate import World
from models.tracking import RiskPyfunc, use
from models.training import Trained
from service.cli.main import app
from service.store.settings import MlflowSettings, get_settings
from tests.spark.conftest import AS_OF, Store, assert_same

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@pytest.fixture(scope="module")
def registry(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An MLflow registry with the trained model as the champion; its tracking URI."""
    folder = tmp_path_factory.mktemp("mlflow")
    m = MlflowSettings(tracking_uri=f"sqlite:///{folder / 'mlflow.db'}")
    use(m.tracking_uri, folder / "artifacts", m.experiment)
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=RiskPyfunc(trained.model),
            registered_model_name=m.model_name,
            pip_requirements=["lightgbm"],  # nothing to infer: the test never installs it
        )
    client = MlflowClient(tracking_uri=m.tracking_uri, registry_uri=m.tracking_uri)
    client.set_registered_model_alias(m.model_name, m.alias, info.registered_model_version)
    return m.tracking_uri


@pytest.fixture
def cli(
    store: Store, registry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    """The commands on the store's database and the registry's champion."""
    monkeypatch.setenv("SAFECREDIT_DATABASE_URL", store.url)
    monkeypatch.setenv("SAFECREDIT_MLFLOW__TRACKING_URI", registry)
    monkeypatch.setenv("SAFECREDIT_SPARK__HISTORY_DIR", str(tmp_path / "history"))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _run(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.output


def test_export_then_score_and_quote_on_spark(
    cli: CliRunner, spark: SparkSession, store: Store, world: World, tmp_path: Path
) -> None:
    missing = cli.invoke(app, ["score", "--engine", "spark", "--as-of", "2026-03-31", "--out", "x"])
    assert missing.exit_code == 2 and "run `safecredit export-history` first" in missing.output
    said = _run(cli, "export-history", "--buckets", "6")
    assert "6 buckets" in said and "enterprises 1,500" in said
    day = ["--as-of", AS_OF.isoformat()]
    _run(cli, "score", *day, "--out", str(tmp_path / "pandas.parquet"))
    said = _run(
        cli,
        "score",
        *day,
        "--engine",
        "spark",
        "--master",
        "local[2]",
        "--out",
        str(tmp_path / "spark.parquet"),
    )
    assert "1,500 enterprises" in said
    pandas, spark_rows = (pd.read_parquet(tmp_path / f"{e}.parquet") for e in ("pandas", "spark"))
    assert_same(pandas, spark_rows)

    codes = [store.listed, *world.tables["enterprises"]["uscc"].iloc[:39]]
    book = pd.DataFrame(
        {
            "uscc": codes,
            "honours": ["city", "", "province", "none"] * 10,
            "headcount": ["", "120", "", ""] * 10,
            "as_of": ["", "", "", dt.date(2025, 12, 31).isoformat()] * 10,
        }
    )
    book.to_csv(tmp_path / "book.csv", index=False)
    common = ["quote", "--book", str(tmp_path / "book.csv"), "--period-start", "2026-04-01"]
    common += ["--as-of", AS_OF.isoformat(), "--insured-amount", "500000"]
    _run(cli, *common, "--out", str(tmp_path / "quotes.csv"))
    said = _run(cli, *common, "--engine", "spark", "--out", str(tmp_path / "quotes.parquet"))
    assert "40 quotes" in said
    by_pandas = pd.read_csv(tmp_path / "quotes.csv", keep_default_na=False)
    by_spark = pd.read_parquet(tmp_path / "quotes.parquet").sort_values("row")
    assert by_spark["row"].tolist() == list(range(40))
    by_spark = by_spark.drop(columns="row").reset_index(drop=True)
    listed = by_spark.loc[by_spark["uscc"] == store.listed].iloc[0]
    assert listed["listings"] != ""
    # the CSV round trip turns dates and flags into text: compare as the CSV holds them
    by_spark_csv = pd.read_csv(
        pd.io.common.StringIO(by_spark.to_csv(index=False)), keep_default_na=False
    )
    by_pandas["row"] = by_spark_csv["row"] = range(40)
    assert_same(by_pandas, by_spark_csv, key="row")


def test_spark_output_is_parquet_and_never_replaces_other_folders(
    cli: CliRunner, tmp_path: Path
) -> None:
    csv = cli.invoke(app, ["score", "--engine", "spark", "--as-of", "2026-03-31", "--out", "s.csv"])
    assert csv.exit_code == 2 and ".parquet" in csv.output
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    args = ["score", "--engine", "spark", "--as-of", "2026-03-31", "--out", str(tmp_path / "mine")]
    refused = cli.invoke(app, args)
    assert refused.exit_code == 2 and "not Spark output" in refused.output
    assert (tmp_path / "mine" / "notes.txt").exists()
    engine = cli.invoke(app, ["score", "--engine", "dask", "--as-of", "2026-03-31", "--out", "x"])
    said = " ".join(engine.output.replace("│", " ").split())  # the box wraps the message
    assert engine.exit_code == 2 and "'dask' is not one of 'pandas', 'spark'" in said, said
