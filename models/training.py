"""Training the risk model and its baselines on time-based splits; no MLflow here (see
:mod:`models.tracking`), so the same steps run in tests, in ``safecredit train`` and in the demo.
"""

from __future__ import annotations

import hashlib
import itertools
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from features.catalogue import CATALOGUE
from features.contracts import INDUSTRIES
from models.metrics import report
from models.policy import POLICY_DIR, PolicyFileError
from models.risk import RiskModel
from models.scorecard import WoeScorecard

DEFAULT_CONFIG = POLICY_DIR / "training-2026.1.toml"
CATEGORIES = {"industry": list(INDUSTRIES)}


@dataclass(frozen=True)
class TrainingConfig:
    version: str
    sha256: str
    split: dict[str, Any]
    pairs: dict[str, Any]
    gates: dict[str, Any]
    lightgbm: dict[str, Any]
    exclude: tuple[str, ...] = ()


def load_config(path: Path = DEFAULT_CONFIG) -> TrainingConfig:
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode())
        return TrainingConfig(
            str(data["version"]),
            hashlib.sha256(raw).hexdigest(),
            data["split"],
            data["pairs"],
            data["gates"],
            data.get("lightgbm", {}),
            tuple(data.get("features", {}).get("exclude", ())),
        )
    except (tomllib.TOMLDecodeError, KeyError) as exc:
        raise PolicyFileError(f"{path}: {exc}") from None


@dataclass
class Split:
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    dates: dict[str, list[str]]


def time_split(meta: pd.DataFrame, *, valid_dates: int, test_dates: int) -> Split:
    """Train on the earlier as-of dates, validate on the next, test on the latest: never a
    random split across time."""
    dates = np.sort(meta["as_of"].unique())
    if len(dates) < valid_dates + test_dates + 1:
        raise ValueError(
            f"{len(dates)} as-of dates are too few for {valid_dates} validation and {test_dates} "
            "test dates plus training: simulate or load more years"
        )
    test_d, valid_d = dates[-test_dates:], dates[-test_dates - valid_dates : -test_dates]
    train_d = dates[: -test_dates - valid_dates]
    as_of = meta["as_of"].to_numpy()

    def days(d: np.ndarray) -> list[str]:
        return [str(pd.Timestamp(x).date()) for x in d]

    return Split(
        np.isin(as_of, train_d),
        np.isin(as_of, valid_d),
        np.isin(as_of, test_d),
        {"train": days(train_d), "valid": days(valid_d), "test": days(test_d)},
    )


def fingerprint(X: pd.DataFrame, y: pd.Series, meta: pd.DataFrame) -> str:
    """sha256 of the training data's content: the same data gives the same fingerprint."""
    digest = hashlib.sha256()
    for frame in (X, y.to_frame(), meta):
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


@dataclass
class Trained:
    model: RiskModel
    unconstrained: RiskModel
    scorecard: WoeScorecard
    split: Split
    metrics: dict[str, dict[str, float]]  # model name → test metrics
    pairs_tried: dict[str, float] = field(default_factory=dict)  # "a×b" → validation AUC gain
    test_probability: np.ndarray | None = None


def directions(exclude: tuple[str, ...] = ()) -> dict[str, int]:
    """The model's features (the catalogue's, less ``exclude``) and their risk directions."""
    unknown = set(exclude) - set(CATALOGUE)
    if unknown:
        raise ValueError(f"excluded features not in the catalogue: {sorted(unknown)}")
    return {name: f.direction for name, f in CATALOGUE.items() if name not in exclude}


def fit_all(
    X: pd.DataFrame,
    y: pd.Series,
    meta: pd.DataFrame,
    config: TrainingConfig,
    *,
    seed: int = 7,
    say: Callable[[str], None] = lambda _: None,
) -> Trained:
    split = time_split(
        meta, valid_dates=config.split["valid_dates"], test_dates=config.split["test_dates"]
    )
    y_ = y.to_numpy()
    tr, va, te = split.train, split.valid, split.test

    def risk(**kwargs: Any) -> RiskModel:
        return RiskModel(
            directions(config.exclude), CATEGORIES, params=config.lightgbm, seed=seed, **kwargs
        )

    say(f"fitting the additive monotone model on {tr.sum():,} rows …")
    model = risk().fit(X[tr], y_[tr], X[va], y_[va])
    base_auc = roc_auc_score(y_[va], model.predict_proba(X[va]))
    pairs_tried: dict[str, float] = {}
    kept: list[tuple[str, str]] = []
    gains = model.booster_.feature_importance("gain")
    top = [model.features_[i] for i in np.argsort(gains)[::-1][: config.pairs["candidates"]]]
    for a, b in itertools.combinations(top, 2):
        say(f"trying the interaction {a} × {b} …")
        trial = risk(pairs=[(a, b)]).fit(X[tr], y_[tr], X[va], y_[va])
        gain = roc_auc_score(y_[va], trial.predict_proba(X[va])) - base_auc
        pairs_tried[f"{a}×{b}"] = float(gain)
        if gain >= config.pairs["min_gain_auc"]:
            kept.append((a, b))
    if kept:
        say(f"refitting with interactions {kept} …")
        model = risk(pairs=kept).fit(X[tr], y_[tr], X[va], y_[va])
    say("fitting the baselines (unconstrained LightGBM, WoE scorecard) …")
    unconstrained = risk(additive=False, monotone=False).fit(X[tr], y_[tr], X[va], y_[va])
    scorecard = WoeScorecard().fit(X[tr], y_[tr], categorical=list(CATEGORIES))
    p = model.predict_proba(X[te])
    metrics = {
        "candidate": report(y_[te], p),
        "unconstrained": report(y_[te], unconstrained.predict_proba(X[te])),
        "scorecard": report(y_[te], scorecard.predict_proba(X[te])),
    }
    return Trained(model, unconstrained, scorecard, split, metrics, pairs_tried, p)


def oracle_probability(meta: pd.DataFrame, truth: pd.DataFrame) -> np.ndarray:
    """The simulator's true probability of an accident in each row's horizon (as_of,
    horizon_end]: the true yearly rates (truth.csv) weighted by the share of each year the
    horizon covers. NaN where truth has no row."""
    t = truth.assign(
        start=pd.to_datetime(truth["start"]),
        end=pd.to_datetime(truth["end"]),
        rate=-np.log1p(-truth["p_accident"].clip(upper=1 - 1e-12)),
    )
    rows = meta[["uscc", "as_of", "horizon_end"]].reset_index(drop=True)
    rows["_row"] = np.arange(len(rows))
    joined = rows.merge(t[["uscc", "start", "end", "rate"]], on="uscc", how="left")
    year_days = (joined["end"] - joined["start"]).dt.days + 1
    lo = np.maximum(joined["as_of"], joined["start"] - pd.Timedelta(days=1))
    hi = np.minimum(joined["horizon_end"], joined["end"])
    share = ((hi - lo).dt.days.clip(lower=0) / year_days).fillna(0)
    rate = (joined["rate"] * share).groupby(joined["_row"]).sum(min_count=1)
    return (1 - np.exp(-rate)).reindex(range(len(meta))).to_numpy()
