"""Does the inspection plan help? A backtest on simulated provinces with an inspection effect.

    uv run python -m experiments.inspection_backtest [ENTERPRISES] [YEARS] [SEEDS] [PLAN_YEARS]

For each seed a province is simulated without targeted inspections (the status quo). The risk
model is trained on what was known the day before the first plan year (as
:func:`experiments.tariff_fairness.train_before` does). At the start of each of the last
``PLAN_YEARS`` years, three strategies each pick N enterprises among those operating:

- ``plan``: the first N of :func:`models.plans.inspection_plan` (expected accidents prevented,
  from the model's probability and the best recourse action's gain; no random share), on the
  features of the records known that day;
- ``random``: N drawn uniformly;
- ``last_year``: the most responsible accidents reported by that day and occurred in the past 12
  months, ties drawn at random.

Precision and recall at N are measured in the status-quo world: the share of the N picked that
have a responsible accident in the year (realised, reported or not), and the share of all such
enterprises the N catch. Then the province is simulated again with the same seed, each strategy
and N in turn inspecting its picks (:class:`experiments.world.province.InspectionEffect`: hidden
hazards found with chance 0.7 and rectified, open ones rectified; the visits recorded), and the
accidents avoided are the status quo's expected responsible accidents (the oracle's Λ) less the
strategy's, summed over the inspected enterprises from the year of their first inspection on
(what happened before is no effect of it, and is what the last-year strategy picks by), with the
realised counts beside them. Seeds give the intervals
(mean ± t · sd / √seeds, 95 %). Everything is logged to MLflow as one run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
import time
from collections.abc import Callable
from statistics import NormalDist

import mlflow
import numpy as np
import pandas as pd
from scipy import stats
from tqdm import tqdm

from experiments.simulate import inspected, simulate
from experiments.world import records
from experiments.world.dates import to_date
from experiments.world.province import InspectionEffect, Province
from features.pit import as_of as features_as_of
from features.store import History
from features.training import as_of_grid, training_set
from models.explain import explain
from models.plans import inspection_plan, load_plan_policy
from models.policy import load_policy
from models.recourse import load_actions
from models.risk import RiskModel
from models.tracking import use
from models.training import fit_all, load_config
from service.store.settings import get_settings

END = dt.date(2025, 12, 31)
CAPACITIES = (30, 100, 300)
STRATEGIES = ("plan", "random", "last_year")
Pick = Callable[[int, Province], dict[int, np.ndarray]]  # capacity → enterprise ids


@dataclasses.dataclass(frozen=True)
class Setup:
    enterprises: int
    years: int
    seeds: int
    plan_years: int
    capacities: tuple[int, ...] = CAPACITIES


TRAINING_SEED = 0  # the province the model is trained on; the backtest's seeds are 1, 2, …
TRAINING_YEARS = 5


def train(setup: Setup) -> RiskModel:
    """The risk model trained on a province of its own (seed 0, the same size, five years of
    history ending the day before the first plan year); interactions are not searched (time)."""
    start = dt.date(END.year - setup.plan_years + 1, 1, 1)
    end = start - dt.timedelta(days=1)
    world = simulate(setup.enterprises, TRAINING_YEARS, TRAINING_SEED, end=end)
    history = History.from_frames(world.tables)
    config = dataclasses.replace(load_config(), pairs={"candidates": 2, "min_gain_auc": 1.0})
    grid_start = (
        pd.Timestamp(world.start) + pd.DateOffset(years=config.split["history_years"])
    ).date()
    grid = as_of_grid(history, grid_start, end, freq=config.split["grid"])
    X, y, meta = training_set(
        history, grid, horizon_months=config.split["horizon_months"], data_end=end
    )
    return fit_all(X, y, meta, config, seed=TRAINING_SEED).model


def _first_plan_year(setup: Setup) -> int:
    return setup.years - setup.plan_years


def _history_start(province: Province) -> int:
    return int(province.bounds[province.burn])


def _known_features(province: Province, day: int) -> tuple[np.ndarray, pd.DataFrame]:
    """The operating enterprises' ids and their features as of ``day`` from the records known
    the day before."""
    tables = records.tables(province.firms, province.outcome(), _history_start(province), day - 1)
    history = History.from_frames(tables)
    ids = np.flatnonzero(province.operating)
    grid = pd.DataFrame(
        {"uscc": province.firms.uscc[ids], "as_of": pd.Timestamp(to_date(day))}
    ).astype({"as_of": "datetime64[s]"})
    return ids, features_as_of(history, grid)


def plan_picks(model: RiskModel, province: Province, day: int, capacities: tuple[int, ...]):  # type: ignore[no-untyped-def]
    """The plan's first N for every N, as of ``day``."""
    policy, actions, plans = load_policy(), load_actions(), load_plan_policy()
    ids, X = _known_features(province, day)
    scored = explain(model, policy, actions, X)
    gains = [c.points for c in scored.recourse.values()]
    gain = np.max(np.column_stack(gains), axis=1) if gains else np.zeros(len(ids))
    candidates = pd.DataFrame(
        {
            "uscc": [f"{i:09d}" for i in ids],
            "grade": scored.grade,
            "probability": scored.probability,
            "gain": gain.astype(float),
        }
    )
    plan = inspection_plan(
        candidates,
        plans,
        capacity=max(capacities),
        random_share=0.0,
        seed=0,
        factor=policy.scale.factor,
    )
    order = plan["uscc"].astype(int).to_numpy()
    return {n: order[:n] for n in capacities}


def last_year_picks(
    province: Province, day: int, capacities: tuple[int, ...], rng: np.random.Generator
) -> dict[int, np.ndarray]:
    """The most responsible accidents reported by ``day`` that occurred in the year before."""
    acc = province.accidents.columns()
    year_ago = int(province.bounds[np.searchsorted(province.bounds, day) - 12])
    hit = acc["responsible"] & (acc["reported"] < day) & (acc["occurred"] >= year_ago)
    counts = np.bincount(acc["ent"][hit], minlength=province.n).astype(float)
    ids = np.flatnonzero(province.operating)
    tie = rng.random(len(ids))
    order = ids[np.lexsort((tie, -counts[ids]))]
    return {n: order[:n] for n in capacities}


def random_picks(
    province: Province, capacities: tuple[int, ...], rng: np.random.Generator
) -> dict[int, np.ndarray]:
    ids = np.flatnonzero(province.operating)
    order = rng.permutation(ids)
    return {n: order[:n] for n in capacities}


def _picker(
    strategy: str, model: RiskModel, setup: Setup, seed: int
) -> Callable[[int, Province], dict[int, np.ndarray]]:
    rng = np.random.default_rng([seed, STRATEGIES.index(strategy)])
    first = _first_plan_year(setup)

    def pick(year: int, province: Province) -> dict[int, np.ndarray]:
        if year < first:
            return {}
        day = int(province.bounds[province.burn + 12 * year])
        if strategy == "plan":
            return plan_picks(model, province, day, setup.capacities)  # type: ignore[no-any-return]
        if strategy == "last_year":
            return last_year_picks(province, day, setup.capacities, rng)
        return random_picks(province, setup.capacities, rng)

    return pick


def one_seed(
    setup: Setup, model: RiskModel, seed: int, bar: tqdm
) -> list[dict[str, float | int | str]]:
    """Every strategy and N on one seed: precision and recall in the status quo, accidents
    avoided when the picks are inspected (summed over the enterprises inspected, from their first
    inspection on: the others' differences are only the simulation's paths parting)."""
    first = _first_plan_year(setup)
    # the status quo again, observed: what each strategy would pick, nobody inspected
    picked: dict[tuple[str, int], dict[int, np.ndarray]] = {}
    pickers = {s: _picker(s, model, setup, seed) for s in STRATEGIES}

    def observe(year: int, province: Province) -> np.ndarray:
        for s, pick in pickers.items():
            for n, ids in pick(year, province).items():
                picked.setdefault((s, n), {})[year] = ids
        return np.array([], dtype=np.int64)

    observed = _run(setup, seed, observe)
    bar.update()  # the status quo, observed
    quo_truth = observed
    rows: list[dict[str, float | int | str]] = []
    for s in STRATEGIES:
        for n in setup.capacities:
            precision, recall = [], []
            for year in range(first, setup.years):
                ids = picked[(s, n)][year]
                bad = quo_truth["responsible"][year] > 0
                live = quo_truth["operating"][year]
                hits = int(bad[ids].sum())
                precision.append(hits / n)
                recall.append(hits / max(int((bad & live).sum()), 1))
            strategy_pick = _picker(s, model, setup, seed)
            visits: dict[int, np.ndarray] = {}

            def inspect(
                year: int,
                province: Province,
                pick: Pick = strategy_pick,
                n: int = n,
                visits: dict[int, np.ndarray] = visits,
            ) -> np.ndarray:
                ids = pick(year, province).get(n, np.array([], dtype=np.int64))
                if len(ids):
                    visits[year] = ids
                return ids

            treated = _run(setup, seed, inspect)
            bar.update()
            span = slice(first, setup.years)
            # from each enterprise's first inspection on: what happened before it is no effect
            # of it (and is what the last-year strategy picked it for)
            after = np.zeros_like(treated["operating"])
            for year, ids in visits.items():
                after[year:, ids] = True
            rows.append(
                {
                    "seed": seed,
                    "strategy": s,
                    "n": n,
                    "precision": float(np.mean(precision)),
                    "recall": float(np.mean(recall)),
                    "expected_avoided": float(
                        (quo_truth["expected"] - treated["expected"])[span][after[span]].sum()
                    ),
                    "realised_avoided": float(
                        (quo_truth["responsible"] - treated["responsible"])[span][after[span]].sum()
                    ),
                    "expected_status_quo": float(quo_truth["expected"][span].sum()),
                }
            )
    return rows


def _run(
    setup: Setup, seed: int, planner: Callable[[int, Province], np.ndarray]
) -> dict[str, np.ndarray]:
    """Simulate with targeted inspections chosen by ``planner``; the truth arrays."""
    captured: dict[str, np.ndarray] = {}
    effect = InspectionEffect(planner=planner, seed=seed)
    world = inspected(setup.enterprises, setup.years, seed, end=END, effect=effect)
    years = sorted(world.truth["year"].unique())
    n = setup.enterprises
    index = pd.Index(world.tables["enterprises"]["uscc"])
    for name, column in (
        ("expected", "expected_accidents"),
        ("responsible", "responsible_accidents"),
    ):
        table = np.zeros((len(years), n))
        for y, year in enumerate(years):
            part = world.truth[world.truth["year"] == year]
            table[y, index.get_indexer(part["uscc"])] = part[column].to_numpy()
        captured[name] = table
    operating = np.zeros((len(years), n), dtype=bool)
    for y, year in enumerate(years):
        operating[y, index.get_indexer(world.truth.loc[world.truth["year"] == year, "uscc"])] = True
    captured["operating"] = operating
    return captured


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95 % interval (t over seeds) of each measure, by strategy and N."""
    measures = ["precision", "recall", "expected_avoided", "realised_avoided"]
    out = []
    for (s, n), part in rows.groupby(["strategy", "n"], sort=False):
        row: dict[str, float | int | str] = {"strategy": s, "n": int(n), "seeds": len(part)}
        k = len(part)
        t = stats.t.ppf(0.975, k - 1) if k > 1 else NormalDist().inv_cdf(0.975)
        for m in measures:
            mean = float(part[m].mean())
            half = float(t * part[m].std(ddof=1) / np.sqrt(k)) if k > 1 else float("nan")
            row[m] = mean
            row[f"{m}_ci"] = half
        out.append(row)
    return pd.DataFrame(out)


def markdown(table: pd.DataFrame, setup: Setup) -> str:
    lines = [
        f"{setup.enterprises:,} enterprises × {setup.years} years, the last {setup.plan_years} "
        f"planned, {setup.seeds} seeds (mean ± 95 % interval over seeds)",
        "",
        "| N | strategy | precision at N | recall at N | expected accidents avoided "
        "| realised accidents avoided |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for r in table.sort_values(["n", "strategy"]).itertuples():
        lines.append(
            f"| {r.n} | {r.strategy} | {r.precision:.3f} ± {r.precision_ci:.3f} "
            f"| {r.recall:.3f} ± {r.recall_ci:.3f} "
            f"| {r.expected_avoided:.1f} ± {r.expected_avoided_ci:.1f} "
            f"| {r.realised_avoided:.1f} ± {r.realised_avoided_ci:.1f} |"
        )
    return "\n".join(lines)


def main(enterprises: int = 3_000, years: int = 5, seeds: int = 10, plan_years: int = 2) -> None:
    started = time.perf_counter()
    setup = Setup(enterprises, years, seeds, plan_years)
    steps = 1 + seeds * (1 + len(STRATEGIES) * len(setup.capacities))
    rows: list[dict[str, float | int | str]] = []
    with tqdm(total=steps, desc="backtest", unit="run", file=sys.stderr) as bar:
        bar.set_postfix_str("training the model")
        model = train(setup)
        bar.update()
        for seed in range(1, seeds + 1):
            bar.set_postfix_str(f"seed {seed}")
            rows.extend(one_seed(setup, model, seed, bar))
    per_seed = pd.DataFrame(rows)
    table = summarise(per_seed)
    text = markdown(table, setup)
    settings = get_settings().mlflow
    use(settings.tracking_uri, settings.artifact_root, settings.experiment)
    with mlflow.start_run(run_name="inspection-backtest") as run:
        mlflow.log_params(
            {
                "enterprises": enterprises,
                "years": years,
                "seeds": seeds,
                "plan_years": plan_years,
                "capacities": ",".join(map(str, setup.capacities)),
                "effect": "hidden hazards found p=0.7 and rectified; open hazards rectified",
                "plan_policy": load_plan_policy().label,
            }
        )
        mlflow.log_metrics(
            {
                f"{m}/{r['strategy']}/{r['n']}": float(r[m])
                for r in table.to_dict(orient="records")
                for m in ("precision", "recall", "expected_avoided", "realised_avoided")
            }
        )
        mlflow.log_text(per_seed.to_csv(index=False), "per_seed.csv")
        mlflow.log_text(text, "backtest.md")
        run_id = run.info.run_id
    print(f"MLflow run {run_id} at {settings.tracking_uri}; {time.perf_counter() - started:.0f} s")
    print(text)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
