"""Is the tariff fair? Backtest a year of quotes on a simulated province against that year's
simulated losses, and log it to MLflow.

    uv run python -m experiments.tariff_fairness [ENTERPRISES] [YEARS] [SEED]

The risk model is trained on what was known before the period (labels up to the day before it),
every enterprise active at the period start is quoted as of that day, and the insured losses of
the period are the casualties of every accident that occurred in it (any responsibility: the
insurance pays the victims either way) and was reported by the end of the simulated history:
each death pays the insured amount, each serious injury ``INJURY_SHARE`` of it (disability).
Three schemes price the same book: one flat rate for everybody, the tariff's base rates by
industry and size band (no float), and each floating tariff. Deciles are of the model's
probability. Loss ratios are shown relative to the scheme's own book loss ratio, so every scheme
is compared at the same total premium.

``calibrate`` derives the tables a tariff file needs from a simulated province (the reference
frequencies and loss-cost base rates), for the shipped files; it prints them as TOML.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from experiments.simulate import World, simulate
from features.contracts import INDUSTRIES
from features.pit import as_of as features_as_of
from features.store import History
from features.training import as_of_grid, training_set
from models.explain import explain
from models.plots import plt
from models.policy import load_policy
from models.recourse import load_actions
from models.risk import RiskModel
from models.tariff import Tariff, load_tariff, price, record_inputs, tariffs
from models.tracking import use
from models.training import fit_all, load_config
from service.store.settings import get_settings

END = dt.date(2025, 12, 31)
INSURED_AMOUNT = 400_000.0  # CNY per person, the legal minimum
INJURY_SHARE = 0.5  # a serious injury pays this share of the insured amount (disability)
TARGET_LOSS_RATIO = 0.65  # base rates are loss cost divided by this (expenses and margin)
SHRINK = 200.0  # enterprise-years of the parent a thin cell is shrunk toward


def insured_losses(world: World, start: dt.date, end: dt.date) -> pd.Series:
    """Insured loss (CNY) per code of the accidents that occurred in [start, end]."""
    acc = world.tables["accidents"]
    occurred = pd.to_datetime(acc["occurred_on"])
    hit = acc[(occurred >= pd.Timestamp(start)) & (occurred <= pd.Timestamp(end))]
    loss = (hit["deaths"] + INJURY_SHARE * hit["serious_injuries"]) * INSURED_AMOUNT
    return loss.groupby(hit["uscc"]).sum()


# -- tables for tariff files ------------------------------------------------------------------
def _table(frame: pd.DataFrame, value: str, weight: str, labels: list[str], shrink: float):  # type: ignore[no-untyped-def]
    """value / weight by (industry, band), each cell shrunk toward its industry's level (itself
    shrunk toward the book's) times its band's relativity, with ``shrink`` units of weight."""
    full = pd.MultiIndex.from_product([list(INDUSTRIES), labels], names=["industry", "band"])
    cell = frame.groupby(["industry", "band"])[[value, weight]].sum().reindex(full, fill_value=0)
    ind = frame.groupby("industry")[[value, weight]].sum().reindex(list(INDUSTRIES), fill_value=0)
    band = frame.groupby("band")[[value, weight]].sum().reindex(labels, fill_value=0)
    overall = frame[value].sum() / frame[weight].sum()
    relativity = (band[value] / band[weight]).fillna(overall) / overall
    level = (ind[value] + shrink * overall) / (ind[weight] + shrink)
    parent = (
        level.reindex(full.get_level_values(0)).to_numpy()
        * relativity.reindex(full.get_level_values(1)).to_numpy()
    )
    shrunk = (cell[value].to_numpy() + shrink * parent) / (cell[weight].to_numpy() + shrink)
    return pd.Series(shrunk, index=full).unstack()[labels].reindex(list(INDUSTRIES))


def calibrate(world: World, tariff: Tariff) -> dict[str, pd.DataFrame]:
    """(industry × band) tables from every simulated year: ``reference`` is the share of
    enterprise-years with a reported responsible accident, ``base_rates`` the insured loss cost
    per person-year in ‰ of the insured amount over ``TARGET_LOSS_RATIO``; thin cells are shrunk
    toward their industry's level times their band's relativity (``SHRINK`` enterprise-years)."""
    e = world.tables["enterprises"].set_index("uscc")
    years = world.truth[["uscc", "year"]].join(e[["industry", "employees"]], on="uscc")
    labels = list(tariff.size_bands.labels)
    years["band"] = np.asarray(labels)[tariff.size_bands.index(years["employees"].to_numpy())]
    acc = world.tables["accidents"]
    acc = acc.assign(
        year=pd.to_datetime(acc["occurred_on"]).dt.year,
        cost=acc["deaths"] + INJURY_SHARE * acc["serious_injuries"],  # in insured amounts
    )
    keys = pd.MultiIndex.from_frame(years[["uscc", "year"]])
    responsible = acc[acc["responsible"].astype(bool)].groupby(["uscc", "year"]).size()
    years["hit"] = keys.isin(responsible.index).astype(float)
    years["one"] = 1.0
    years["cost"] = acc.groupby(["uscc", "year"])["cost"].sum().reindex(keys).fillna(0).to_numpy()
    years["persons"] = years["employees"].astype(float)
    reference = _table(years, "hit", "one", labels, SHRINK)
    persons = SHRINK * years["persons"].mean()
    loss_cost = _table(years, "cost", "persons", labels, persons)
    return {"reference": reference, "base_rates": loss_cost * 1000 / TARGET_LOSS_RATIO}


def toml_tables(tables: dict[str, pd.DataFrame]) -> str:
    lines = []
    for name, digits in (("base_rates", 3), ("reference", 4)):
        lines.append(f"[{name}]")
        for industry, row in tables[name].iterrows():
            values = ", ".join(f"{max(v, 10**-digits):.{digits}f}" for v in row)
            lines.append(f"{industry} = [{values}]")
        lines.append("")
    return "\n".join(lines)


# -- the backtest ------------------------------------------------------------------------------
def train_before(history: History, period_start: dt.date, seed: int) -> RiskModel:
    """The risk model as it could have been trained the day before the period: labels end then."""
    config = load_config()
    end = period_start - dt.timedelta(days=1)
    first = pd.Timestamp(history.tables["enterprises"].frame["known_from"].min())
    accidents = history.tables["accidents"].frame["known_from"]
    first = min(first, pd.Timestamp(accidents.min())) if len(accidents) else first
    start = (first + pd.DateOffset(years=config.split["history_years"])).date()
    grid = as_of_grid(history, start, end, freq=config.split["grid"])
    X, y, meta = training_set(
        history, grid, horizon_months=config.split["horizon_months"], data_end=end
    )
    return fit_all(X, y, meta, config, seed=seed).model


def book(
    world: World, model: RiskModel, schemes: list[Tariff], period_start: dt.date
) -> pd.DataFrame:
    """Every enterprise active at the period start, quoted as of that day under each scheme,
    with the period's insured losses. Premiums in CNY: ``flat`` (one rate), ``base`` (the first
    tariff's base rates, no float) and one column per tariff version."""
    history = History.from_frames(world.tables)
    grid = as_of_grid(history, period_start, period_start)
    usccs = list(grid["uscc"])
    X = features_as_of(history, grid)
    scored = explain(model, load_policy(), load_actions(), X, with_reasons=False)
    probability = scored.probability
    conduct = np.ones(len(X)) if scored.relative_risk is None else scored.relative_risk
    end = (pd.Timestamp(period_start) + pd.DateOffset(years=1) - pd.Timedelta(days=1)).date()
    out = pd.DataFrame({"uscc": usccs, "probability": probability})
    for i, tariff in enumerate(schemes):
        records = record_inputs(
            history,
            usccs,
            as_of=period_start,
            period_start=period_start,
            rule=tariff.factors.accident_experience,
        )
        inputs = records.loc[usccs].reset_index(names="uscc")
        inputs = inputs.assign(
            headcount=inputs["employees"].astype(int),
            insured_amount_cny=INSURED_AMOUNT,
            probability=probability,
            conduct_risk=conduct,
            honours="none",
            listed=False,  # no registry is run on the simulated extract
            previous_rate=np.nan,
        )
        priced = price(tariff, inputs)
        if i == 0:
            persons = inputs["headcount"].to_numpy(dtype=float)
            out["industry"] = inputs["industry"].to_numpy()
            out["headcount"] = persons
            out["base"] = INSURED_AMOUNT * persons * priced["base_rate"].to_numpy() / 1000
            out["flat"] = persons * out["base"].sum() / persons.sum()
        out[tariff.version] = priced["premium_cny"].to_numpy()
    losses = insured_losses(world, period_start, end)
    out["loss"] = losses.reindex(out["uscc"]).fillna(0.0).to_numpy()
    return out


def ordered_gini(premium: np.ndarray, base: np.ndarray, loss: np.ndarray) -> float:
    """The ordered Lorenz Gini (Frees, Meyers & Cummings 2011) of ``premium`` against
    ``base``: sort by the relativity premium/base, plot the cumulative share of losses against
    that of the base premium; twice the area between the diagonal and the curve. 0 when the
    relativities tell the losses nothing (ties are one step), positive when they order them."""
    relativity = premium / base
    frame = pd.DataFrame({"r": relativity, "base": base, "loss": loss})
    steps = frame.groupby("r", sort=True)[["base", "loss"]].sum()
    x = np.concatenate([[0.0], steps["base"].cumsum().to_numpy() / base.sum()])
    y = np.concatenate([[0.0], steps["loss"].cumsum().to_numpy() / loss.sum()])
    return float(2 * np.trapezoid(x - y, x))


def deciles(table: pd.DataFrame, schemes: list[str]) -> pd.DataFrame:
    """Per risk decile (of the model's probability): enterprises, mean probability, share of
    the losses, and each scheme's loss ratio relative to its book loss ratio."""
    d = pd.qcut(table["probability"].rank(method="first"), 10, labels=range(1, 11))
    grouped = table.groupby(d, observed=True)
    out = pd.DataFrame(
        {
            "enterprises": grouped.size(),
            "mean_probability": grouped["probability"].mean(),
            "loss_share": grouped["loss"].sum() / table["loss"].sum(),
        }
    )
    for s in schemes:
        book_lr = table["loss"].sum() / table[s].sum()
        out[f"lr_{s}"] = grouped["loss"].sum() / grouped[s].sum() / book_lr
    out.index.name = "decile"
    return out


def summary(table: pd.DataFrame, by_decile: pd.DataFrame, schemes: list[str]) -> dict[str, float]:
    out = {}
    for s in schemes:
        lr = by_decile[f"lr_{s}"]
        out[f"spread_{s}"] = float(lr.max() - lr.min())
        out[f"sd_{s}"] = float(lr.std(ddof=0))
        out[f"gini_{s}"] = ordered_gini(
            table[s].to_numpy(), table["flat"].to_numpy(), table["loss"].to_numpy()
        )
    return out


def plot(by_decile: pd.DataFrame, schemes: list[str]):  # type: ignore[no-untyped-def]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for s in schemes:
        ax.plot(by_decile.index.astype(int), by_decile[f"lr_{s}"], marker="o", label=s)
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.set(
        xlabel="risk decile (model probability, 1 = safest)",
        ylabel="loss ratio / book loss ratio",
        title="Loss ratio by risk decile: flat, base and floating",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def markdown(by_decile: pd.DataFrame, stats: dict[str, float], schemes: list[str]) -> str:
    head = "| decile | enterprises | mean P | loss share | " + " | ".join(schemes) + " |"
    lines = [head, "|" + "---|" * (4 + len(schemes))]
    for k, row in by_decile.iterrows():
        cells = " | ".join(f"{row[f'lr_{s}']:.2f}" for s in schemes)
        lines.append(
            f"| {k} | {int(row['enterprises']):,} | {row['mean_probability']:.3f} | "
            f"{row['loss_share']:.1%} | {cells} |"
        )
    lines.append(
        "| spread (max − min) | | | | "
        + " | ".join(f"{stats[f'spread_{s}']:.2f}" for s in schemes)
        + " |"
    )
    lines.append(
        "| Gini against flat | | | | "
        + " | ".join(f"{stats[f'gini_{s}']:.3f}" for s in schemes)
        + " |"
    )
    return "\n".join(lines)


def run(
    world: World,
    model: RiskModel,
    *,
    period_start: dt.date,
    tracking_uri: str,
    artifact_root: Path,
    experiment: str = "tariff-fairness",
    params: dict[str, object] | None = None,
) -> tuple[pd.DataFrame, dict[str, float], str]:
    """Quote the book under every shipped tariff, compare with the period's losses, log to
    MLflow; returns (decile table, summary, run id)."""
    schemes_t = [load_tariff(p) for p in tariffs()]
    table = book(world, model, schemes_t, period_start)
    schemes = ["flat", "base", *(t.version for t in schemes_t)]
    by_decile = deciles(table, schemes)
    stats = summary(table, by_decile, schemes)
    use(tracking_uri, artifact_root, experiment)
    with mlflow.start_run() as active:
        mlflow.log_params(
            {
                "period_start": period_start.isoformat(),
                "enterprises_quoted": len(table),
                "insured_amount_cny": INSURED_AMOUNT,
                "injury_share": INJURY_SHARE,
                "loss": "casualties of every accident in the period: deaths x amount + "
                "serious injuries x injury_share x amount",
                **{f"tariff_{t.version}": t.sha256 for t in schemes_t},
                **(params or {}),
            }
        )
        mlflow.log_metrics({**stats, "losses_cny": float(table["loss"].sum())})
        mlflow.log_text(by_decile.to_csv(), "deciles.csv")
        mlflow.log_text(markdown(by_decile, stats, schemes), "deciles.md")
        figure = plot(by_decile, schemes)
        mlflow.log_figure(figure, "loss_ratio_by_decile.png")
        plt.close(figure)
        run_id = active.info.run_id
    return by_decile, stats, run_id


def main(enterprises: int = 20_000, years: int = 6, seed: int = 11) -> None:
    started = time.perf_counter()
    settings = get_settings().mlflow
    period_start = dt.date(END.year, 1, 1)
    world = simulate(enterprises, years, seed, end=END, progress=sys.stderr.isatty())
    model = train_before(History.from_frames(world.tables), period_start, seed)
    by_decile, stats, run_id = run(
        world,
        model,
        period_start=period_start,
        tracking_uri=settings.tracking_uri,
        artifact_root=settings.artifact_root,
        params={"enterprises": enterprises, "years": years, "seed": seed},
    )
    schemes = [c.removeprefix("lr_") for c in by_decile.columns if c.startswith("lr_")]
    print(
        f"{enterprises:,} enterprises × {years} years, seed {seed}; quoted as of "
        f"{period_start}; MLflow run {run_id} at {settings.tracking_uri}; "
        f"{time.perf_counter() - started:.0f} s\n"
    )
    print(markdown(by_decile, stats, schemes))


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
