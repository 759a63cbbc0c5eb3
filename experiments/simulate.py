"""A synthetic province: enterprises' work-safety histories in the contract's tables, and the true
accident probability of every enterprise-year (the oracle a model is judged against).

Generative model
================
Parameters are data (``experiments/world.toml``); "risk" is the negative of the latent safety
culture, so higher risk means worse culture. Time runs in calendar months counted back from the
day after ``end``: a 12-month burn-in (recorded only through the hazards still open when the
history starts), then ``years`` years of history. Everything below is vectorised over
enterprises; the loop is over months.

Enterprises
    Industry ~ catalogue shares; headcount lognormal around the industry median (heavy-tailed);
    size s = employees / industry median; region from county-level GB/T 2260 codes (coal
    country for mining, the coast for fishery); USCC 91 + region + GB 11714 organisation code +
    check character; culture level a ~ N(0, 0.7²) fixed per enterprise; 安全生产标准化 grade
    from a, size and noise; established one year or more before the burn-in.

Culture
    culture_t = a + u_t with u an AR(1) per month (coefficient 0.97, stationary sd 0.5), risk_t =
    −culture_t. After a year with a responsible accident known by its end, u rises by 0.3
    (post-accident rectification) at the next year start.

Hazards (隐患)
    General and major hazards arise as Poisson counts with monthly rates
    rate_industry · s^0.3 · exp(β·risk) (β = 0.6 general, 0.9 major). A hidden hazard is found by
    each inspection with probability 0.7 (dated at the month's first inspection) or self-found
    and reported with a monthly probability logistic in −risk (lower for major hazards). A found
    hazard gets a deadline (7–30 days general, 30–180 major) and is rectified after
    deadline_days · exp(−0.35 + 0.55·risk + 0.5·ε) days, or never (logistic in risk, likelier for
    major hazards): bad cultures rectify late and leave major hazards overdue.

Responsible accidents: the oracle
    In month m an enterprise in operation has responsible accidents as a Poisson count with mean
        λ_m = r_ind · s^0.5 · exp(0.7·risk_m + 0.55·min(M_m, 4) + 0.06·min(G_m, 10)) · d_m/365.25
    where risk_m, M_m (major hazards open, found or not) and G_m (general ones) are the state at
    the start of the month and d_m its length in days. Nothing that happens within a year depends
    on that year's accidents: inspection intensity, exits and the culture jolt change only at year
    starts. So, given the rest of the world's randomness, the number of responsible accidents in
    year y is Poisson with mean Λ = Σ_m λ_m and
        truth.p_accident = P(at least one responsible accident in the year) = 1 − exp(−Λ)
    exactly (``expected_accidents`` is Λ, ``responsible_accidents`` the realised count, reported
    or not). Accidents the enterprise is not responsible for arise separately at
    0.12 · r_ind per year, with no culture, size or hazard effect.

Severity and reporting
    An accident is 较大 or worse with probability big_industry · exp(0.3·risk) · s^0.2 (then
    较大 : 重大 : 特别重大 = 88 : 10.5 : 1.5), else 一般; deaths, serious injuries and direct
    loss are drawn inside the drawn grade, which ``features.grades`` derives back. Responsible
    accidents are concealed, falsely reported or reported late with probabilities logistic in
    risk (concealed ones weeks to years later); an accident not reported by ``end`` is not in the
    extract. A principal flees or fails to organise rescue in a few grave or concealed ones.

Inspections, violations, penalties
    Inspections are Poisson with yearly rate inspections_industry · s^0.2 · grade factor ·
    exp(0.6·[accident known last year] + 0.25·min(serious violations last year, 4) + 0.4·[major
    hazard overdue at the year start]). Each finds ordinary violations (Poisson, more in bad
    cultures; serious with probability logistic in risk) and, rarely, the behaviours the
    joint-punishment rules name: no permit (likely while a permit is suspended or revoked),
    operating under a suspension order, refusing an order (a penalty unfulfilled, a major hazard
    overdue), evading supervision, unaccepted projects, mining beyond licence, false reports by
    safety-service bodies. One decision per inspection with penalised violations: warning, fine,
    suspension, permit suspended or revoked, closure. Responsible accidents are fined by grade
    under 安全生产法 Art. 114, some 2–5× (likelier when grave or misreported), grave ones also
    suspended, their permit suspended or revoked, or closed. A revoked permit or closure ends
    operation at the next year start (no truth rows after). Decisions are carried out after a
    delay, or never (logistic in risk); nothing is decided, reported, carried out or rectified
    after ``end`` in the extract, and a deadline after ``end`` is cut to ``end`` (the contract
    allows no later date).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from experiments.world import firms as firms_module
from experiments.world import output, params, records
from experiments.world.dates import month_starts, to_date
from experiments.world.province import InspectionEffect, Province
from features.contracts import TABLES
from features.manifest import write_manifest


@dataclass
class World:
    """A simulated extract: the contract's tables (keys as in ``TABLES``, the validator's types)
    and the truth, one row per enterprise-year in operation at the year's start."""

    tables: dict[str, pd.DataFrame]
    truth: pd.DataFrame  # uscc, year, start, end, p_accident, expected_accidents,
    # responsible_accidents, culture (latent, higher is safer)
    start: dt.date  # first day of the history
    end: dt.date  # last day of the history: the extract's date

    def partial(self, tables: Collection[str]) -> World:
        """The extract a registry holding only ``tables`` would give (enterprises always): the
        other tables left out, and references into them emptied."""
        unknown = set(tables) - set(TABLES)
        if unknown:
            raise ValueError(f"not history tables: {sorted(unknown)}; choose from {list(TABLES)}")
        kept = {"enterprises", *tables}
        out = {}
        for name, frame in self.tables.items():
            if name not in kept:
                continue
            dropped = [c for c, t in TABLES[name].references.items() if t not in kept]
            out[name] = frame.assign(**{c: None for c in dropped}) if dropped else frame
        return dataclasses.replace(self, tables=out)


def simulate(
    n_enterprises: int,
    years: int,
    seed: int,
    *,
    end: dt.date | None = None,
    progress: bool = False,
) -> World:
    """A province of ``n_enterprises`` over the ``years`` years up to ``end`` (default
    2025-12-31); the same arguments always give the same world."""
    return inspected(n_enterprises, years, seed, end=end, progress=progress, effect=None)


def inspected(
    n_enterprises: int,
    years: int,
    seed: int,
    *,
    effect: InspectionEffect | None,
    end: dt.date | None = None,
    progress: bool = False,
) -> World:
    """:func:`simulate` with targeted inspections that rectify the hazards they find (see
    :class:`~experiments.world.province.InspectionEffect`); ``effect=None`` is :func:`simulate`."""
    if n_enterprises < 1 or years < 1:
        raise ValueError(f"need at least 1 enterprise and 1 year, got {n_enterprises}, {years}")
    p = params.load()
    end = end or p["calendar"]["default_end"]
    assert end is not None
    burn = int(p["calendar"]["burn_in_months"])
    bounds = month_starts(end, 12 * years + burn)
    rng = np.random.default_rng(seed)
    firms = firms_module.build(rng, p, n_enterprises, before_day=int(bounds[0]))
    outcome = Province(rng, p, firms, bounds, burn, effect).run(progress)
    start, last = int(bounds[burn]), int(bounds[-1]) - 1
    return World(
        tables=records.tables(firms, outcome, start, last),
        truth=records.truth(firms, outcome, bounds, burn),
        start=to_date(start),
        end=to_date(last),
    )


def write_world(world: World, out: Path, fmt: Literal["csv", "parquet"] = "csv") -> None:
    """``<table>.csv`` (or ``.parquet``) for every table, ``truth.csv`` and ``manifest.json``
    (each file's rows and sha256, :mod:`features.manifest`) into ``out``."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format must be csv or parquet, not {fmt!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = {}
    for name in [t for t in TABLES if t in world.tables]:
        frame = world.tables[name]
        if fmt == "csv":
            output.write_csv(frame, out / f"{name}.csv")
        else:
            output.write_parquet(frame, out / f"{name}.parquet")
        rows[f"{name}.{fmt}"] = len(frame)
    output.write_csv(world.truth, out / "truth.csv")
    rows["truth.csv"] = len(world.truth)
    write_manifest(out, rows)
