"""Training: time-based splits, the oracle from truth.csv, and MLflow registration whose
champion alias moves only when the gates pass."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from experiments.simulate import World
from features.store import History
from models.pipeline import train
from models.tracking import load
from models.training import Trained, oracle_probability, time_split


def history_features(history: History) -> pd.DataFrame:
    from features.pit import as_of

    usccs = history.known_at(dt.date(2025, 12, 31))["enterprises"]["uscc"].head(50)
    return as_of(history, pd.DataFrame({"uscc": usccs, "as_of": pd.Timestamp("2025-12-31")}))


def test_the_split_follows_time(trained: Trained, data) -> None:  # type: ignore[no-untyped-def]
    split = trained.split
    assert max(split.dates["train"]) < min(split.dates["valid"])
    assert max(split.dates["valid"]) < min(split.dates["test"])
    assert not (split.train & split.valid).any() and not (split.valid & split.test).any()
    with pytest.raises(ValueError, match="too few"):
        time_split(data[2].head(10), valid_dates=4, test_dates=1)


def test_the_oracle_is_the_truth_for_a_calendar_year(world: World) -> None:
    truth = world.truth[world.truth["year"] == 2024].head(50)
    meta = pd.DataFrame(
        {
            "uscc": truth["uscc"],
            "as_of": pd.Timestamp("2023-12-31"),
            "horizon_end": pd.Timestamp("2024-12-31"),
        }
    )
    np.testing.assert_allclose(
        oracle_probability(meta, world.truth), truth["p_accident"], rtol=1e-9
    )


def test_the_candidate_is_close_to_the_unconstrained_model(trained: Trained) -> None:
    m = trained.metrics
    assert m["candidate"]["auc"] > 0.7
    assert m["candidate"]["auc"] >= m["unconstrained"]["auc"] - 0.02


def test_registration_moves_the_champion_only_through_the_gates(
    history: History, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    common = dict(
        end=dt.date(2025, 12, 31),
        tracking_uri=uri,
        artifact_root=tmp_path / "art",
        experiment="test",
        model_name="safecredit-risk",
        alias="champion",
    )
    first = train(history, truth=world.truth, **common)
    assert first.alias == "champion" and first.gates.passed
    run = MlflowClient(uri).get_run(first.run_id)
    assert {"candidate_auc", "unconstrained_auc", "scorecard_auc", "oracle_auc"} <= set(
        run.data.metrics
    )
    assert len(run.data.params["dataset_sha256"]) == 64
    artifacts = {a.path for a in MlflowClient(uri).list_artifacts(first.run_id)}
    assert {"model_card.md", "points_table.csv", "feature_catalogue.md", "plots"} <= artifacts

    # the registered pyfunc, loaded by alias, predicts what the model does (industry as text)
    import mlflow

    mlflow.set_registry_uri(uri)
    served = mlflow.pyfunc.load_model("models:/safecredit-risk@champion")
    X = history_features(history)
    np.testing.assert_allclose(
        served.predict(X.astype({"industry": str}))["probability"],
        load(uri, "safecredit-risk", "champion").model.predict_proba(X),
        rtol=1e-12,
    )

    # a crippled candidate (a few shallow trees) must not displace the champion
    import models.training as training

    crippled = dataclasses.replace(
        training.load_config(), lightgbm={"learning_rate": 0.001, "num_leaves": 2}
    )
    monkeypatch.setattr("models.pipeline.load_config", lambda: crippled)
    second = train(history, **common)
    assert second.alias == "challenger" and not second.gates.passed
    assert load(uri, "safecredit-risk", "champion").version == first.version
    assert load(uri, "safecredit-risk", "challenger").version == second.version
