"""The monitor's report as an MLflow run of its own (experiment ``<experiment>-monitor``): the
versions and dates as parameters, the judged numbers as metrics, the HTML and JSON as
artifacts."""

from __future__ import annotations

from pathlib import Path

import mlflow

from models.monitor.report import Report
from models.tracking import use


def log_report(
    report: Report,
    files: list[Path],
    *,
    tracking_uri: str,
    artifact_root: Path,
    experiment: str,
) -> str:
    """Log the report; returns the run id."""
    use(tracking_uri, artifact_root, f"{experiment}-monitor")
    d = report.as_dict()
    with mlflow.start_run(run_name=f"monitor {report.as_of}") as run:
        mlflow.set_tag("kind", "monitor")
        mlflow.log_params(
            {
                "as_of": report.as_of,
                "since": report.since,
                "migration": "…".join(report.migration_dates),
                **{k: v[:250] for k, v in report.versions.items()},
            }
        )
        metrics: dict[str, float] = {"breaches": float(len(report.breaches))}
        for row in d["discrimination"]:
            if row["auc"] is not None:
                metrics[f"auc/{row['book']}"] = row["auc"]
                metrics[f"ks/{row['book']}"] = row["ks"]
        for row in d["calibration"]:
            if row["ratio"] is not None:
                metrics[f"calibration_ratio/{row['book']}"] = row["ratio"]
        for row in d["rates_by_grade_pooled"]:
            metrics[f"realised_rate/{row['grade']}"] = row["rate"]
        for row in d["psi"]:
            metrics[f"psi/{row['feature']}"] = row["psi"]
        for row in d["loss_ratio"] or []:
            if row["loss_ratio"] is not None:
                metrics[f"loss_ratio/{row['band']}"] = row["loss_ratio"]
        mlflow.log_metrics({_name(k): v for k, v in metrics.items()})
        for path in files:
            mlflow.log_artifact(str(path))
    return str(run.info.run_id)


def _name(key: str) -> str:
    """An MLflow metric name: letters, digits and ``_-./ `` only."""
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./ ")
    return "".join(c if c in allowed else "_" for c in key)
