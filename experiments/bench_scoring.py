"""Scoring speed: the bare model prediction next to scoring with reasons and recourse, on the
same rows, side by side in one run. The rows are feature vectors of a simulated province,
resampled to the size asked for."""

from __future__ import annotations

import dataclasses
import datetime as dt
import resource
import time

import numpy as np
import pandas as pd

from experiments.simulate import simulate
from features.pit import as_of
from features.store import History
from features.training import as_of_grid, training_set
from models.explain import explain
from models.policy import load_policy
from models.recourse import load_actions
from models.training import fit_all, load_config

END = dt.date(2025, 12, 31)


def _best(f, repeats: int = 2) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


def run(rows: int = 1_000_000, enterprises: int = 5_000) -> list[tuple[str, str]]:
    world = simulate(enterprises, 5, seed=13, end=END)
    history = History.from_frames(world.tables)
    X, y, meta = training_set(history, as_of_grid(history, "2022-01-01", END), data_end=END)
    config = dataclasses.replace(load_config(), pairs={"candidates": 0, "min_gain_auc": 1.0})
    model = fit_all(X, y, meta, config).model
    policy, actions = load_policy(), load_actions()
    today = as_of(
        history,
        pd.DataFrame({"uscc": world.tables["enterprises"]["uscc"], "as_of": pd.Timestamp(END)}),
    )
    big = today.iloc[np.random.default_rng(0).integers(0, len(today), rows)].reset_index(drop=True)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    bare = _best(lambda: model.predict_proba(big))
    contrib = _best(lambda: model.contributions(big))
    full = _best(lambda: explain(model, policy, actions, big), repeats=1)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return [
        (
            "scoring: rows (resampled feature vectors)",
            f"{rows:,} × {len(model.features_)} features",
        ),
        ("scoring: bare LightGBM prediction", f"{bare:.2f} s = {rows / bare:,.0f} rows/s"),
        (
            "scoring: exact contributions (step tables)",
            f"{contrib:.2f} s = {rows / contrib:,.0f} rows/s",
        ),
        (
            "scoring: score + grade + 4 reasons + recourse",
            f"{full:.2f} s = {rows / full:,.0f} rows/s",
        ),
        ("scoring: with reasons / bare throughput", f"{bare / full:.2f}×  (goal ≥ 0.5×)"),
        ("scoring: peak RSS (process)", f"{max(rss, rss0) / 2**20:.1f} GiB"),
    ]
