"""Accidents: their severity, how they were reported, and the investigation's decisions."""

from __future__ import annotations

import numpy as np

from experiments.world.log import Log
from experiments.world.params import Params
from experiments.world.sanctions import (
    CATEGORY,
    MEASURE,
    Sanctions,
    sigmoid,
    uniform_days,
)
from features.contracts import REPORTING

REPORT = {r: i for i, r in enumerate(REPORTING)}
# grade tiers: 0 一般, 1 较大, 2 重大, 3 特别重大; caps keep each accident inside its tier
_DEATHS_CAP = (2, 9, 29, 10_000)
_INJURIES_CAP = (9, 49, 99, 10_000)
_LOSS_CAP = (9_999_900.0, 49_999_900.0, 99_999_900.0, np.inf)


def accident_log() -> Log:
    return Log(
        ent=np.int64,
        occurred=np.int64,
        reported=np.int64,
        deaths=np.int64,
        injuries=np.int64,
        loss=np.float64,
        reporting=np.int64,
        responsible=bool,
        fled=bool,
        tier=np.int64,
        penalty=np.int64,
    )


def occur(
    rng: np.random.Generator,
    params: Params,
    sanctions: Sanctions,
    accidents: Log,
    violations: Log,
    ent: np.ndarray,
    occurred: np.ndarray,
    responsible: np.ndarray,
    risk: np.ndarray,
) -> np.ndarray:
    """Accidents of enterprises ``ent`` on days ``occurred``; ``risk`` is each one's enterprise
    risk (0 for accidents it is not responsible for). Returns the report days."""
    a = params["accidents"]
    firms = sanctions.firms
    m = len(ent)
    industry = firms.industry[ent]
    by = params.by_industry

    big = rng.random(m) < np.minimum(
        0.5,
        by["big_share"][industry]
        * np.exp(a["big_risk"] * risk)
        * firms.size[ent] ** a["big_size_elasticity"],
    )
    tier = np.where(big, 1 + rng.choice(3, m, p=np.array(a["big_tiers"]) / sum(a["big_tiers"])), 0)
    deaths, injuries, loss = _casualties(rng, params, tier, industry)

    u = rng.random(m)
    late, concealed, falsified = (
        sigmoid(a[k][0] + a[k][1] * risk) * responsible
        for k in ("reported_late", "reported_concealed", "reported_false")
    )
    late = np.where(responsible, late, 0.05)
    reporting = np.select(
        [u < concealed, u < concealed + falsified, u < concealed + falsified + late],
        [REPORT["concealed"], REPORT["false"], REPORT["late"]],
        default=REPORT["on_time"],
    )
    delay = np.select(
        [reporting == REPORT["late"], reporting == REPORT["concealed"]],
        [
            1 + np.minimum(rng.geometric(0.15, m), 60),
            5 + np.round(np.exp(np.log(40) + 0.9 * rng.standard_normal(m))).astype(np.int64),
        ],
        default=(rng.random(m) < 0.1).astype(np.int64),
    )
    reported = occurred + delay
    fled = responsible & (
        rng.random(m)
        < np.where(tier > 0, a["fled_big"], a["fled_other"])
        + a["fled_concealed"] * (reporting == REPORT["concealed"])
    )
    penalty = _penalise(
        rng,
        params,
        sanctions,
        violations,
        ent,
        reported,
        tier,
        deaths + injuries > 0,
        reporting,
        responsible,
        fled,
        risk,
    )
    accidents.add(
        ent=ent,
        occurred=occurred,
        reported=reported,
        deaths=deaths,
        injuries=injuries,
        loss=loss,
        reporting=reporting,
        responsible=responsible,
        fled=fled,
        tier=tier,
        penalty=penalty,
    )
    return reported


def _casualties(
    rng: np.random.Generator, params: Params, tier: np.ndarray, industry: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deaths, serious injuries and direct loss such that the 493号 grade is ``tier``."""
    a = params["accidents"]
    m = len(tier)
    fatal = rng.random(m) < params.by_industry["fatal_share"][industry]
    general_deaths = fatal * (1 + (rng.random(m) < 0.15))
    general_injuries = np.where(
        fatal, rng.poisson(0.5, m), np.where(rng.random(m) < 0.15, 0, 1 + rng.poisson(0.4, m))
    )
    # 较大: by deaths (75 %), serious injuries (15 %) or direct loss (10 %)
    criterion = rng.choice(3, m, p=[0.75, 0.15, 0.10])
    larger_deaths = np.where(
        criterion == 0, 3 + np.minimum(rng.geometric(0.45, m) - 1, 6), rng.integers(0, 3, m)
    )
    larger_injuries = np.where(
        criterion == 1,
        10 + np.minimum(rng.geometric(0.15, m) - 1, 39),
        rng.poisson(0.8 * larger_deaths + 1),
    )
    major_deaths = 10 + np.minimum(rng.geometric(0.2, m) - 1, 19)
    especially_deaths = 30 + rng.geometric(0.1, m) - 1
    deaths = np.choose(tier, [general_deaths, larger_deaths, major_deaths, especially_deaths])
    injuries = np.choose(
        tier, [general_injuries, larger_injuries, rng.poisson(deaths), rng.poisson(deaths)]
    )
    deaths = np.minimum(deaths, np.take(_DEATHS_CAP, tier))
    injuries = np.minimum(injuries, np.take(_INJURIES_CAP, tier))
    scale = a["loss_median"] * params.by_industry["loss_scale"][industry]
    loss = (
        scale
        * (1 + a["loss_per_death"] * deaths + 0.5 * injuries)
        * np.exp(0.8 * rng.standard_normal(m))
    )
    by_loss = (tier == 1) & (criterion == 2)
    loss = np.where(by_loss, np.exp(rng.uniform(np.log(1e7), np.log(5e7), m)), loss)
    loss = np.round(np.minimum(loss, np.take(_LOSS_CAP, tier)), -2)
    return deaths.astype(np.int64), injuries.astype(np.int64), loss


def _penalise(
    rng: np.random.Generator,
    params: Params,
    sanctions: Sanctions,
    violations: Log,
    ent: np.ndarray,
    reported: np.ndarray,
    tier: np.ndarray,
    casualties: np.ndarray,
    reporting: np.ndarray,
    responsible: np.ndarray,
    fled: np.ndarray,
    risk: np.ndarray,
) -> np.ndarray:
    """Fines under 安全生产法 Art. 114 (some 2–5×) for responsible accidents, a second decision
    (suspension, permit, closure) for grave ones, and violations for a principal who fled."""
    p = params["penalties"]
    firms = sanctions.firms
    m = len(ent)
    misreported = np.isin(reporting, [REPORT["concealed"], REPORT["false"]])
    chance = np.where(casualties, p["accident_penalised"], p["accident_penalised_minor"])
    penalised = responsible & ((rng.random(m) < chance) | (tier > 0) | fled | misreported)
    inquiry = np.where(
        tier > 0,
        uniform_days(rng, p["investigation_days_big"], m),
        uniform_days(rng, p["investigation_days"], m),
    )
    decided = reported + inquiry
    bounds = np.array(p["accident_fines"], dtype=np.float64)[tier]
    base = np.round(np.exp(rng.uniform(np.log(bounds[:, 0]), np.log(bounds[:, 1]))), -4)
    multiplied = rng.random(m) < (
        np.take(p["multiplier"], tier) + p["multiplier_misreported"] * misreported
    )
    values = np.array(p["multiplier_values"])
    multiplier = np.where(multiplied, 2 + rng.choice(4, m, p=values / values.sum()), 0)
    amount = base * np.maximum(multiplier, 1)
    mining = firms.industry[ent] == params.industry("mining")
    department = np.select(
        [mining, tier == 3, tier == 2],
        [firms.sector_department[ent], "应急管理部", firms.province_department[ent]],
        default=firms.city_department[ent],
    ).astype(object)
    penalty = np.full(m, -1, dtype=np.int64)
    who = np.flatnonzero(penalised)
    penalty[who] = sanctions.decide(
        rng,
        ent[who],
        decided[who],
        np.full(len(who), MEASURE["fine"]),
        amount[who],
        multiplier[who],
        department[who],
        risk[who],
    )

    u = rng.random(m)
    permit = firms.permit[ent]
    second = np.select(
        [
            (tier == 3) & (u < 0.3),
            (tier >= 2) & permit & (u < 0.4),
            (tier >= 2) & ~permit & (u < 0.2),
            tier >= 2,
            (tier == 1) & (u < 0.5),
            (tier == 1) & permit & (u < 0.65),
            misreported & (u < 0.25),
        ],
        [
            MEASURE["closure"],
            MEASURE["permit_revoked"],
            MEASURE["closure"],
            MEASURE["suspension"],
            MEASURE["suspension"],
            MEASURE["permit_suspended"],
            MEASURE["suspension"],
        ],
        default=-1,
    )
    grave = np.flatnonzero(penalised & (second >= 0))
    sanctions.decide(
        rng,
        ent[grave],
        decided[grave],
        second[grave],
        np.full(len(grave), np.nan),
        np.zeros(len(grave), np.int64),
        department[grave],
        risk[grave],
    )

    ran = np.flatnonzero(penalised & fled)
    found = np.maximum(reported[ran], decided[ran] - rng.integers(0, 16, len(ran)))
    category = np.where(
        reporting[ran] == REPORT["concealed"],
        CATEGORY["destroying_evidence"],
        CATEGORY["rescue_failure"],
    )
    violations.add(
        ent=ent[ran],
        day=found,
        serious=True,
        category=category,
        inspection=-1,
        penalty=penalty[ran],
    )
    return penalty
