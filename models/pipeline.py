"""One training run end to end: history → as-of grid → training set → models → MLflow."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from features.store import History
from features.training import as_of_grid, training_set
from models.policy import load_policy
from models.recourse import load_actions
from models.tracking import Registered, log_and_register, use
from models.training import fit_all, load_config, oracle_probability


def train(
    history: History,
    *,
    end: dt.date,
    tracking_uri: str,
    artifact_root: Path,
    experiment: str,
    model_name: str,
    alias: str,
    truth: pd.DataFrame | None = None,
    seed: int = 7,
    say: Callable[[str], None] = lambda _: None,
) -> Registered:
    config, policy, actions = load_config(), load_policy(), load_actions()
    split = config.split
    empty = [n for n in ("enterprises", "accidents") if not len(history.tables[n].frame)]
    if empty:
        raise ValueError(
            f"the history has no {' and no '.join(empty)}: load one with `safecredit ingest`"
        )
    events = [name for name in history.tables if name != "enterprises"]
    first = min(
        pd.to_datetime(history.tables[name].frame["known_from"]).min()
        for name in events or ["enterprises"]
    )
    start = (first + pd.DateOffset(years=split["history_years"])).date()
    say(f"building the training set: as-of dates from {start} every quarter …")
    grid = as_of_grid(history, start, end, freq=split["grid"])
    X, y, meta = training_set(
        history, grid, horizon_months=split["horizon_months"], label=split["label"], data_end=end
    )
    say(f"{len(X):,} rows, {int(y.sum()):,} with an accident in the next 12 months")
    trained = fit_all(X, y, meta, config, seed=seed, context=policy.conduct.context, say=say)
    oracle = oracle_probability(meta, truth) if truth is not None else None
    use(tracking_uri, artifact_root, experiment)
    return log_and_register(
        trained,
        X,
        y,
        meta,
        config=config,
        policy=policy,
        actions=actions,
        tracking_uri=tracking_uri,
        model_name=model_name,
        alias=alias,
        oracle=oracle,
        say=say,
    )
