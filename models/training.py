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
from models.exposure import BAND_LABELS, BANDS
from models.metrics import auc_within, bootstrap, report
from models.policy import POLICY_DIR, PolicyFileError
from models.risk import RiskModel
from models.scorecard import WoeScorecard

DEFAULT_CONFIG = POLICY_DIR / "training-2026.2.toml"
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
    relative: tuple[str, ...] = ()  # counts judged against the exposure (models.exposure)
    fixed_k: dict[str, float] = field(default_factory=dict)  # credibility constants set, not fitted
    per: dict[str, str] = field(default_factory=dict)  # a share's numerator → its denominator


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
            tuple(data.get("conduct", {}).get("relative", ())),
            dict(data.get("conduct", {}).get("fixed_k", {})),
            dict(data.get("conduct", {}).get("per", {})),
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


def directions(exclude: tuple[str, ...] = (), version: str | None = None) -> dict[str, int]:
    """The model's features (the catalogue's, less ``exclude`` and, given a training policy's
    ``version``, less those the catalogue added after it) and their risk directions."""
    unknown = set(exclude) - set(CATALOGUE)
    if unknown:
        raise ValueError(f"excluded features not in the catalogue: {sorted(unknown)}")
    return {
        name: f.direction
        for name, f in CATALOGUE.items()
        if name not in exclude and not (version and f.since and _newer(f.since, version))
    }


def _newer(a: str, b: str) -> bool:
    """Whether version ``a`` ("2026.2") comes after ``b``."""
    return tuple(int(p) for p in a.split(".")) > tuple(int(p) for p in b.split("."))


def fit_all(
    X: pd.DataFrame,
    y: pd.Series,
    meta: pd.DataFrame,
    config: TrainingConfig,
    *,
    seed: int = 7,
    context: tuple[str, ...] | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> Trained:
    """Fit the candidate and the baselines. ``context`` (the scoring policy's) are the features
    that set the peer baseline: an interaction pair never joins one of them with a conduct
    feature, so the score can leave the context out exactly (default: the default policy's)."""
    if context is None:
        from models.policy import load_policy

        context = load_policy().conduct.context
    split = time_split(
        meta, valid_dates=config.split["valid_dates"], test_dates=config.split["test_dates"]
    )
    y_ = y.to_numpy()
    tr, va, te = split.train, split.valid, split.test

    def risk(**kwargs: Any) -> RiskModel:
        kwargs.setdefault("relative", config.relative)
        kwargs.setdefault("fixed_k", config.fixed_k)
        kwargs.setdefault("per", config.per)
        return RiskModel(
            directions(config.exclude, config.version),
            CATEGORIES,
            params=config.lightgbm,
            seed=seed,
            **kwargs,
        )

    say(f"fitting the additive monotone model on {tr.sum():,} rows …")
    model = risk().fit(X[tr], y_[tr], X[va], y_[va])
    base_auc = roc_auc_score(y_[va], model.predict_proba(X[va]))
    pairs_tried: dict[str, float] = {}
    kept: list[tuple[str, str]] = []
    gains = model.booster_.feature_importance("gain")
    top = [model.features_[i] for i in np.argsort(gains)[::-1][: config.pairs["candidates"]]]
    for a, b in itertools.combinations(top, 2):
        if (a in context) != (b in context):
            continue
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
    unconstrained = risk(additive=False, monotone=False, relative=())
    unconstrained.fit(X[tr], y_[tr], X[va], y_[va])
    scorecard = WoeScorecard().fit(X[tr], y_[tr], categorical=list(CATEGORIES))
    p = model.predict_proba(X[te])
    metrics = {
        "candidate": report(y_[te], p),
        "unconstrained": report(y_[te], unconstrained.predict_proba(X[te])),
        "scorecard": report(y_[te], scorecard.predict_proba(X[te])),
    }
    metrics.update(peer_metrics(model, X[te], y_[te], meta["as_of"].to_numpy()[te], context))
    say(metrics_table(metrics))
    return Trained(model, unconstrained, scorecard, split, metrics, pairs_tried, p)


def peer_groups(X: pd.DataFrame) -> np.ndarray:
    """Each row's peer group, ``industry/band`` (the headcount bands of models.exposure)."""
    band = np.searchsorted(np.asarray(BANDS), X["employees"].fillna(0).to_numpy(), side="left")
    labels = np.array(BAND_LABELS, dtype=object)[band]
    return (X["industry"].astype(str).to_numpy().astype(object) + "/" + labels).astype(str)


def peer_metrics(
    model: RiskModel, X: pd.DataFrame, y: np.ndarray, dates: np.ndarray, context: tuple[str, ...]
) -> dict[str, dict[str, float]]:
    """Test metrics with bootstrap 95 % intervals over the test dates: the full probability's AUC,
    and the credit score's (conduct only) overall and within peer groups beside the full
    probability's within the same groups."""
    base, contrib = model.contributions(X)
    full = base + contrib.to_numpy().sum(axis=1)
    kept = [c for c in contrib.columns if c not in set(context)]
    judged = base + contrib[kept].to_numpy().sum(axis=1)
    groups = peer_groups(X)
    lo, hi = bootstrap(y, full, roc_auc_score, strata=dates)
    w_lo, w_hi = bootstrap(y, judged, auc_within, strata=dates, extra=groups)
    f_lo, f_hi = bootstrap(y, full, auc_within, strata=dates, extra=groups)
    return {
        "candidate_interval": {"auc_lo": lo, "auc_hi": hi},
        "credit_score": {
            "auc": float(roc_auc_score(y, judged)),
            "auc_within_peers": auc_within(y, judged, groups),
            "auc_within_peers_lo": w_lo,
            "auc_within_peers_hi": w_hi,
            "full_auc_within_peers": auc_within(y, full, groups),
            "full_auc_within_peers_lo": f_lo,
            "full_auc_within_peers_hi": f_hi,
        },
    }


def metrics_table(metrics: dict[str, dict[str, float]]) -> str:
    """The test metrics as the terminal shows them after ``train``."""
    lines = [f"{'model':<16}{'AUC':>8}{'KS':>8}{'Brier':>8}{'log loss':>10}{'ECE':>8}"]
    for name, m in metrics.items():
        if "brier" in m:
            lines.append(
                f"{name:<16}{m['auc']:>8.4f}{m['ks']:>8.4f}{m['brier']:>8.4f}"
                f"{m['log_loss']:>10.4f}{m['ece']:>8.4f}"
            )
    if "candidate_interval" in metrics:
        i = metrics["candidate_interval"]
        lines.append(f"candidate AUC 95 % interval: {i['auc_lo']:.4f}–{i['auc_hi']:.4f}")
    if "credit_score" in metrics:
        c = metrics["credit_score"]
        lines.append(
            f"AUC within peer groups: credit score {c['auc_within_peers']:.4f} "
            f"({c['auc_within_peers_lo']:.4f}–{c['auc_within_peers_hi']:.4f}), full probability "
            f"{c['full_auc_within_peers']:.4f} "
            f"({c['full_auc_within_peers_lo']:.4f}–{c['full_auc_within_peers_hi']:.4f})"
        )
    return "\n".join(lines)


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
