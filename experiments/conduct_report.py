"""The credit score's tables in the README: the full risk model against today's, the credit score
(conduct only) within peer groups, the baselines and the oracle; the grades by peer group; and a
partial extract (enterprises, violations and accidents only) against a logistic regression on
log counts. Logged to MLflow as a run of its own.

    uv run python -m experiments.conduct_report [ENTERPRISES] [YEARS] [SEED]
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
import time

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from experiments.simulate import World, simulate
from features.store import History
from features.training import as_of_grid, training_set
from models.explain import explain, judged_logit
from models.metrics import auc_within, bootstrap
from models.policy import POLICY_DIR, load_policy
from models.recourse import load_actions
from models.training import Trained, fit_all, load_config, oracle_probability, peer_groups

END = dt.date(2025, 12, 31)
PARTIAL = ("violations", "accidents")


def _data(world: World) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    history = History.from_frames(world.tables)
    first = min(pd.to_datetime(f["known_from"]).min() for f in _frames(history))
    start = (first + pd.DateOffset(years=1)).date()
    return training_set(history, as_of_grid(history, start, END), data_end=END)


def _frames(history: History) -> list[pd.DataFrame]:
    return [history.tables[n].frame for n in history.tables if n != "enterprises"]


def _interval(y: np.ndarray, s: np.ndarray, dates: np.ndarray, groups: np.ndarray | None = None):  # type: ignore[no-untyped-def]
    if groups is None:
        value = float(roc_auc_score(y, s))
        lo, hi = bootstrap(y, s, roc_auc_score, strata=dates)
    else:
        value = auc_within(y, s, groups)
        lo, hi = bootstrap(y, s, auc_within, strata=dates, extra=groups)
    return f"{value:.4f} ({lo:.4f}–{hi:.4f})"


def _log_counts(X: pd.DataFrame) -> np.ndarray:
    """The baseline's inputs: log counts of violations and accidents over 1 and 3 years."""
    return np.log1p(
        np.column_stack(
            [
                X["viol_general_1y"] + X["viol_serious_1y"],
                X["viol_general_3y"] + X["viol_serious_3y"],
                X["acc_count_1y"],
                X["acc_general_3y"] + X["acc_larger_3y"] + X["acc_major_3y"],
            ]
        ).astype(float)
    )


def main(enterprises: int = 30_000, years: int = 6, seed: int = 7) -> dict[str, object]:
    started = time.perf_counter()
    world = simulate(enterprises, years, seed, end=END, progress=True)
    X, y, meta = _data(world)
    policy, actions = load_policy(), load_actions()
    new = load_config()
    old = dataclasses.replace(load_config(POLICY_DIR / "training-2026.1.toml"), split=new.split)
    print(f"{len(X):,} rows; fitting the 2026.2 model …", flush=True)
    now = fit_all(X, y, meta, new, seed=seed, context=policy.conduct.context, say=print)
    print("fitting today's model (training 2026.1) on the same split …", flush=True)
    before = fit_all(X, y, meta, old, seed=seed, context=(), say=print)
    te = now.split.test
    Xt, yt = X[te], y.to_numpy()[te]
    dates = meta["as_of"].to_numpy()[te]
    groups = peer_groups(Xt)
    scored = explain(now.model, policy, actions, Xt)
    judged = judged_logit(now.model, policy, Xt)  # the score's log-odds: higher is riskier
    oracle = oracle_probability(meta, world.truth)[te]
    known = ~np.isnan(oracle)
    rows = [
        ("full risk model 2026.2 (prices insurance)", now.test_probability),
        ("today's risk model (training 2026.1)", before.test_probability),
        ("credit score 2026.2 (conduct only)", judged),
        ("unconstrained LightGBM", now.unconstrained.predict_proba(Xt)),
        ("WoE logistic scorecard", now.scorecard.predict_proba(Xt)),
    ]
    auc_table = [
        "| model | AUC (95 % interval) | AUC within peer groups (95 % interval) |",
        "|---|---|---|",
    ]
    for name, s in rows:
        assert s is not None
        auc_table.append(
            f"| {name} | {_interval(yt, s, dates)} | {_interval(yt, s, dates, groups)} |"
        )
    auc_table.append(
        f"| oracle (the simulator's true probabilities) | "
        f"{_interval(yt[known], oracle[known], dates[known])} | "
        f"{_interval(yt[known], oracle[known], dates[known], groups[known])} |"
    )
    # the partial extract: enterprises, violations and accidents only
    print("the partial extract …", flush=True)
    Xp, yp, mp = _data(world.partial(PARTIAL))
    partial = fit_all(Xp, yp, mp, new, seed=seed, context=policy.conduct.context)
    tr, tp = partial.split.train, partial.split.test
    logistic = LogisticRegression(max_iter=1000).fit(_log_counts(Xp[tr]), yp.to_numpy()[tr])
    yp_t, dp = yp.to_numpy()[tp], mp["as_of"].to_numpy()[tp]
    partial_table = [
        "| partial extract (enterprises, violations, accidents) | AUC (95 % interval) |",
        "|---|---|",
        f"| risk model 2026.2 | {_interval(yp_t, partial.test_probability, dp)} |",  # type: ignore[arg-type]
        "| logistic regression on log counts of violations and accidents (1 and 3 years) | "
        f"{_interval(yp_t, logistic.predict_proba(_log_counts(Xp[tp]))[:, 1], dp)} |",
    ]
    grade_table = _grades(groups, scored.grade, dates)
    quantiles = {
        f"q{q}": float(np.percentile(scored.score[dates == dates.max()], q))
        for q in (5, 10, 20, 35, 50, 65, 80, 90, 95)
    }
    print("credit score quantiles:", quantiles)
    last = dates == dates.max()
    tails = {}  # the D share by band and industry against the province's, were D the worst p %
    for q in (3, 5, 8, 10):
        worst = pd.Series(scored.score[last] <= np.percentile(scored.score[last], q))
        parts = pd.Series(groups[last]).str.split("/")
        tails[f"worst {q} %"] = {
            by: (worst.groupby(parts.str[i]).mean() / worst.mean()).round(2).nlargest(3).to_dict()
            for i, by in ((1, "band"), (0, "industry"))
        }
    print("D ÷ all D share, were D the worst p %:", json.dumps(tails))
    reasons = _principal(scored.reason_feature)
    out = {
        "auc": auc_table,
        "partial": partial_table,
        "grades": grade_table,
        "principal_reasons": reasons,
        "score_quantiles": quantiles,
        "tails": tails,
        "seconds": round(time.perf_counter() - started),
    }
    print(
        f"\n{enterprises:,} enterprises × {years} years, seed {seed}; test as-of "
        f"{', '.join(now.split.dates['test'])} ({int(te.sum()):,} rows)\n"
    )
    for key in ("auc", "partial", "grades"):
        print("\n".join(out[key]) + "\n")  # type: ignore[arg-type]
    print("principal reasons:", json.dumps(reasons, ensure_ascii=False))
    _log(out, now)
    return out


def _grades(groups: np.ndarray, grade: np.ndarray, dates: np.ndarray) -> list[str]:
    """Grade shares by headcount band and by industry on the latest test date, beside each
    group's share of A and D against the whole province's."""
    last = dates == dates.max()
    frame = pd.DataFrame({"group": groups[last], "grade": grade[last]})
    frame["band"] = frame["group"].str.split("/").str[1]
    frame["industry"] = frame["group"].str.split("/").str[0]
    overall = frame["grade"].value_counts(normalize=True)
    lines = [
        "| group | enterprises | A | B | C | D | A ÷ all A share | D ÷ all D share |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for by in ("band", "industry"):
        for key, part in frame.groupby(by, sort=by == "industry"):
            share = part["grade"].value_counts(normalize=True)
            cells = [f"{share.get(g, 0):.1%}" for g in "ABCD"]
            lines.append(
                f"| {key} | {len(part):,} | {' | '.join(cells)} | "
                f"{share.get('A', 0) / overall.get('A', np.nan):.2f} | "
                f"{share.get('D', 0) / overall.get('D', np.nan):.2f} |"
            )
    cells = [f"{overall.get(g, 0):.1%}" for g in "ABCD"]
    lines.append(f"| all | {len(frame):,} | {' | '.join(cells)} | 1.00 | 1.00 |")
    return lines


def _principal(features: np.ndarray | None) -> dict[str, int]:
    if features is None:
        return {}
    first = pd.Series(features[:, 0])
    return {k: int(v) for k, v in first[first != ""].value_counts().head(8).items()}


def _log(out: dict[str, object], trained: Trained) -> None:
    """Into the MLflow store the settings name (var/mlflow.db by default), as a run of its own."""
    import mlflow

    from models.tracking import use
    from service.store.settings import get_settings

    settings = get_settings().mlflow
    use(settings.tracking_uri, settings.artifact_root, "conduct-report")
    with mlflow.start_run(run_name="conduct-report"):
        for name, m in trained.metrics.items():
            mlflow.log_metrics({f"{name}_{k}": v for k, v in m.items() if k != "rows"})
        mlflow.log_dict(out, "conduct_report.json")
        for key in ("auc", "partial", "grades"):
            mlflow.log_text("\n".join(out[key]) + "\n", f"{key}.md")  # type: ignore[arg-type]


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
