"""Which model version serves: the one behind the registry alias (``champion``), never a path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.risk import RiskModel


@dataclass(frozen=True)
class Loaded:
    """A model version loaded from the registry. Defined here, away from MLflow, so that
    whatever unpickles one (a Spark executor) needs no MLflow import."""

    model: RiskModel
    name: str
    version: str
    run_id: str


@dataclass(frozen=True)
class ModelRef:
    name: str
    alias: str
    version: str | None  # None when nothing is registered under the alias
    why_not: str = ""


def resolve(tracking_uri: str, name: str, alias: str) -> ModelRef:
    """The version ``alias`` points at in the MLflow registry at ``tracking_uri``."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    try:
        version = client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        code = getattr(exc, "error_code", "")
        if code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return ModelRef(name, alias, None, f"no model registered as {name}@{alias}")
        raise
    return ModelRef(name, alias, str(version.version))
