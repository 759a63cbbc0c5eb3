"""The monitoring policy as versioned data (``models/policies/monitor-*.toml``): the outcome
window, the bands, the PSI's bins and the thresholds past which the monitor alarms."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.policy import POLICY_DIR, load_versioned

DEFAULT = POLICY_DIR / "monitor-2026.1.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Window(_Strict):
    horizon_months: int = Field(gt=0)
    default_years: int = Field(gt=0)
    freq: str


class Bands(_Strict):
    score_width: int = Field(gt=0)
    tariff_edges: tuple[float, ...]

    @model_validator(mode="after")
    def _rising(self) -> Bands:
        edges = list(self.tariff_edges)
        if len(edges) < 2 or edges != sorted(set(edges)):
            raise ValueError("tariff_edges must rise strictly, at least two of them")
        return self


class Psi(_Strict):
    bins: int = Field(ge=2)
    epsilon: float = Field(gt=0, lt=0.01)
    reference_rows: int = Field(ge=100)


class Thresholds(_Strict):
    confidence: float = Field(gt=0.5, lt=1)
    min_rows: int = Field(ge=1)
    min_auc: float = Field(ge=0.5, le=1)
    calibration_ratio: tuple[float, float]
    psi_feature: float = Field(gt=0)
    psi_score: float = Field(gt=0)
    grade_order: bool
    max_loss_ratio: float = Field(gt=0)
    min_premium_cny: float = Field(ge=0)

    @model_validator(mode="after")
    def _ratio(self) -> Thresholds:
        lo, hi = self.calibration_ratio
        if not 0 < lo < 1 < hi:
            raise ValueError("calibration_ratio must be [low, high] with low < 1 < high")
        return self


class MonitorPolicy(_Strict):
    version: str
    name: str
    window: Window
    bands: Bands
    psi: Psi
    thresholds: Thresholds
    sha256: str = ""

    @property
    def label(self) -> str:
        return f"{self.version} ({self.sha256[:12]})"


def load_monitor_policy(path: Path = DEFAULT) -> MonitorPolicy:
    return load_versioned(path, MonitorPolicy)
