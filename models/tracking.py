"""MLflow: log a training run (parameters, metrics, dataset fingerprint, plots, points table,
catalogue, model card), register the model as ``safecredit-risk`` with a signature, and move the
``champion`` alias only when the candidate passes the gates (``challenger`` otherwise).
The service loads by alias, never by path."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.pyfunc import PythonModel
from sklearn.metrics import roc_auc_score

from features.catalogue import CATALOGUE_SHA256, CATALOGUE_VERSION, markdown_table
from models import card, plots
from models.champion import Loaded
from models.explain import explain
from models.gates import GateResult, judge
from models.plots import Figure, plt
from models.policy import ScoringPolicy
from models.recourse import Actions
from models.risk import RiskModel
from models.training import Trained, TrainingConfig, fingerprint

__all__ = ["Loaded", "Registered", "RiskPyfunc", "load", "log_and_register", "use"]

REQUIREMENTS = ("lightgbm", "numpy", "pandas", "scikit-learn", "mlflow")


class RiskPyfunc(PythonModel):
    """The risk model as an MLflow pyfunc: features in, calibrated probability out."""

    def __init__(self, model: RiskModel) -> None:
        self.model = model

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:  # type: ignore[no-untyped-def]
        return pd.DataFrame({"probability": self.model.predict_proba(model_input)})


@dataclass(frozen=True)
class Registered:
    run_id: str
    version: str
    alias: str  # "champion" or "challenger"
    gates: GateResult


def use(tracking_uri: str, artifact_root: Path, experiment: str) -> str:
    """Point MLflow at ``tracking_uri`` and return the experiment id (created with its
    artifacts under ``artifact_root`` when new). MLflow's and its store's INFO and warning
    lines are silenced: what a run did is said by the caller."""
    _quiet()
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    found = mlflow.get_experiment_by_name(experiment)
    if found is None:
        artifact_root.mkdir(parents=True, exist_ok=True)
        location = artifact_root.resolve().as_uri()
        experiment_id = str(mlflow.create_experiment(experiment, artifact_location=location))
    else:
        experiment_id = str(found.experiment_id)
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def _quiet() -> None:
    for noisy in ("mlflow", "alembic", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"mlflow(\..*)?$")


@contextlib.contextmanager
def _registry_chatter_dropped() -> Iterator[None]:
    """MLflow prints its registry's progress to stderr itself ("Successfully registered model
    …", "Created version …"); the caller says what was registered. Other lines pass through."""
    caught = io.StringIO()
    try:
        with contextlib.redirect_stderr(caught):
            yield
    finally:
        chatter = ("Successfully registered model", "Created version", "Registered model")
        kept = [x for x in caught.getvalue().splitlines(True) if not x.startswith(chatter)]
        sys.stderr.write("".join(kept))


def _log_figure(figure: Figure, path: str) -> None:
    mlflow.log_figure(figure, path)
    plt.close(figure)


def load(tracking_uri: str, name: str, alias: str) -> Loaded:
    """The model behind ``name@alias`` in the registry."""
    _quiet()
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    mv = client.get_model_version_by_alias(name, alias)
    mlflow.set_registry_uri(tracking_uri)
    pyfunc = mlflow.pyfunc.load_model(f"models:/{name}@{alias}")
    wrapped = pyfunc.unwrap_python_model()
    return Loaded(wrapped.model, name, str(mv.version), str(mv.run_id))


def _champion_auc(
    tracking_uri: str, name: str, alias: str, X: pd.DataFrame, y: np.ndarray
) -> float | None:
    try:
        champion = load(tracking_uri, name, alias)
    except MlflowException:
        return None
    return float(roc_auc_score(y, champion.model.predict_proba(X)))


def log_and_register(
    trained: Trained,
    X: pd.DataFrame,
    y: pd.Series,
    meta: pd.DataFrame,
    *,
    config: TrainingConfig,
    policy: ScoringPolicy,
    actions: Actions,
    tracking_uri: str,
    model_name: str,
    alias: str,
    oracle: np.ndarray | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> Registered:
    split, model = trained.split, trained.model
    assert trained.test_probability is not None
    X_test, y_test = X[split.test], y.to_numpy()[split.test]
    champion_auc = _champion_auc(tracking_uri, model_name, alias, X_test, y_test)
    metrics = trained.metrics
    gates = judge(
        model,
        X_test,
        metrics["candidate"]["auc"],
        champion_auc,
        tolerance=config.gates["champion_tolerance_auc"],
    )
    with mlflow.start_run(run_name="risk-model") as run, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        mlflow.log_params(
            {
                "training_config": f"{config.version} ({config.sha256[:12]})",
                "catalogue": f"{CATALOGUE_VERSION} ({CATALOGUE_SHA256[:12]})",
                "scoring_policy": f"{policy.version} ({policy.sha256[:12]})",
                "recourse_actions": f"{actions.version} ({actions.sha256[:12]})",
                "dataset_sha256": fingerprint(X, y, meta),
                "train_dates": f"{split.dates['train'][0]}…{split.dates['train'][-1]}",
                "valid_dates": ",".join(split.dates["valid"]),
                "test_dates": ",".join(split.dates["test"]),
                "rows_train": int(split.train.sum()),
                "rows_valid": int(split.valid.sum()),
                "rows_test": int(split.test.sum()),
                "best_iteration": model.best_iteration_,
                "interaction_pairs": json.dumps(model.pairs),
                "features": len(model.features_),
                **{f"lgbm_{k}": v for k, v in config.lightgbm.items()},
            }
        )
        for name, m in metrics.items():
            mlflow.log_metrics({f"{name}_{k}": v for k, v in m.items() if k != "rows"})
        exposure = getattr(model, "exposure_", None)
        relative = {n: e.k for n, e in exposure.models.items()} if exposure else {}
        oracle_auc = None
        if oracle is not None:
            o = oracle[split.test]
            known = ~np.isnan(o)
            oracle_auc = float(roc_auc_score(y_test[known], o[known]))
            mlflow.log_metric("oracle_auc", oracle_auc)
        mlflow.log_dict(trained.pairs_tried, "interactions_tried.json")
        say("drawing the plots …")
        aucs = {k: v["auc"] for k, v in metrics.items() if "brier" in v}
        scores = {
            "candidate": trained.test_probability,
            "unconstrained": trained.unconstrained.predict_proba(X_test),
            "scorecard": trained.scorecard.predict_proba(X_test),
        }
        _log_figure(plots.roc(y_test, scores, aucs), "plots/roc.png")
        _log_figure(plots.calibration(y_test, trained.test_probability), "plots/calibration.png")
        sample = X_test.sample(min(2000, len(X_test)), random_state=0)
        scored = explain(model, policy, actions, sample, with_reasons=False)
        shap_frame = model.prepare(sample).assign(industry=lambda f: f["industry"].cat.codes)
        shap_frame = shap_frame[list(scored.points.columns)]  # the score's: conduct only
        _log_figure(
            plots.shap_summary(scored.points.to_numpy(), shap_frame), "plots/shap_summary.png"
        )
        _log_figure(plots.points_by_feature(scored.points), "plots/points_by_feature.png")
        card.points_table(model, policy).to_csv(out / "points_table.csv", index=False)
        mlflow.log_artifact(str(out / "points_table.csv"))
        mlflow.log_text(markdown_table(), "feature_catalogue.md")
        say("logging and registering the model …")
        # the pyfunc takes industry as text (MLflow schemas have no categorical type)
        example = X_test.head(5).astype({name: str for name in model.categories})
        with _registry_chatter_dropped():
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=RiskPyfunc(model),
                signature=infer_signature(example, RiskPyfunc(model).predict(None, example)),
                input_example=example,
                pip_requirements=[f"{p}=={package_version(p)}" for p in REQUIREMENTS],
                registered_model_name=model_name,
            )
        mlflow.log_metric("gates_passed", float(gates.passed))
    version = str(info.registered_model_version)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    chosen = alias if gates.passed else "challenger"
    client.set_registered_model_alias(model_name, chosen, version)
    client.set_model_version_tag(model_name, version, "gates", "; ".join(gates.reasons) or "passed")
    client.log_text(
        run.info.run_id,
        card.model_card(
            version=version,
            metrics=metrics,
            oracle_auc=oracle_auc,
            split=split.dates,
            rows={
                "train": int(split.train.sum()),
                "valid": int(split.valid.sum()),
                "test": int(split.test.sum()),
            },
            pairs=list(model.pairs),
            gates=list(gates.reasons) or ["passed"],
            policy=policy,
            catalogue_version=CATALOGUE_VERSION,
            fingerprint=fingerprint(X, y, meta),
            features=list(model.features_),
            relative=relative,
        ),
        "model_card.md",
    )
    return Registered(run.info.run_id, version, chosen, gates)
