"""Administrative penalty decisions, the restrictions they put in force (suspension, permit
suspended or revoked, closure, an unpaid fine), and the violations inspections find."""

from __future__ import annotations

from typing import Any

import numpy as np

from experiments.world.dates import NEVER
from experiments.world.firms import Firms
from experiments.world.log import Log
from experiments.world.params import Params
from features.contracts import PENALTY_MEASURES, VIOLATION_CATEGORIES

MEASURE = {m: i for i, m in enumerate(PENALTY_MEASURES)}
CATEGORY = {c: i for i, c in enumerate(VIOLATION_CATEGORIES)}
SPECIAL = [
    CATEGORY[c]
    for c in (
        "no_permit",
        "operating_under_suspension",
        "refused_order",
        "evading_supervision",
        "unaccepted_project",
        "beyond_licence",
        "false_report",
    )
]
OWED_AFTER_DAYS = 60  # an unfulfilled decision older than this can lead to refused_order


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def uniform_days(rng: np.random.Generator, bounds: list[int], m: int) -> np.ndarray:
    return rng.integers(bounds[0], bounds[1] + 1, m).astype(np.int64)


def violation_log() -> Log:
    return Log(
        ent=np.int64,
        day=np.int64,
        serious=bool,
        category=np.int64,
        inspection=np.int64,
        penalty=np.int64,
    )


class Sanctions:
    """Every penalty decision, and per enterprise the restrictions decided so far."""

    def __init__(self, params: Params, firms: Firms) -> None:
        n = len(firms)
        self.p = params["penalties"]
        self.firms = firms
        self.log = Log(
            ent=np.int64,
            decided=np.int64,
            measure=np.int64,
            amount=np.float64,
            multiplier=np.int64,
            fulfilled=np.int64,
            department=object,
        )
        self.suspended_from = np.full(n, NEVER)
        self.suspended_until = np.full(n, NEVER)
        self.permit_from = np.full(n, NEVER)
        self.permit_until = np.full(n, NEVER)
        self.barred_from = np.full(n, NEVER)  # permit revoked or closure ordered
        self.owed_until = np.full(n, np.int64(-1))  # latest fulfilment due (NEVER: never)
        self.last_decided = np.full(n, -NEVER)

    def decide(
        self,
        rng: np.random.Generator,
        ent: np.ndarray,
        decided: np.ndarray,
        measure: np.ndarray,
        amount: np.ndarray,
        multiplier: np.ndarray,
        department: np.ndarray,
        risk: np.ndarray,
    ) -> np.ndarray:
        """Record decisions; draw when each is carried out; put restrictions in force."""
        m = len(ent)
        p = self.p
        never = rng.random(m) < sigmoid(p["never_fulfilled"][0] + p["never_fulfilled"][1] * risk)
        pay = np.round(p["fulfil_days_median"] * np.exp(0.3 * risk + 0.7 * rng.standard_normal(m)))
        done = decided + np.select(
            [
                measure == MEASURE["warning"],
                measure == MEASURE["suspension"],
                measure == MEASURE["permit_suspended"],
                np.isin(measure, [MEASURE["permit_revoked"], MEASURE["closure"]]),
            ],
            [
                0,
                uniform_days(rng, p["suspension_days"], m),
                uniform_days(rng, p["permit_suspension_days"], m),
                rng.integers(0, 31, m),
            ],
            default=pay.astype(np.int64),
        )
        lasting = np.isin(measure, [MEASURE["permit_revoked"], MEASURE["closure"]])
        fulfilled = np.where(never & (measure != MEASURE["warning"]) & ~lasting, NEVER, done)
        for code, start, until in (
            (MEASURE["suspension"], self.suspended_from, self.suspended_until),
            (MEASURE["permit_suspended"], self.permit_from, self.permit_until),
        ):
            hit = measure == code
            start[ent[hit]] = decided[hit]
            until[ent[hit]] = fulfilled[hit]
        np.minimum.at(self.barred_from, ent[lasting], decided[lasting])
        np.maximum.at(self.owed_until, ent, fulfilled)
        np.maximum.at(self.last_decided, ent, decided)
        return self.log.add(
            ent=ent,
            decided=decided,
            measure=measure,
            amount=amount,
            multiplier=multiplier,
            fulfilled=fulfilled,
            department=department,
        )

    def barred(self, ent: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Operating now would be without a valid permit."""
        suspended = (self.permit_from[ent] <= day) & (day < self.permit_until[ent])
        return suspended | (self.barred_from[ent] <= day)

    def suspended(self, ent: np.ndarray, day: np.ndarray) -> np.ndarray:
        return (self.suspended_from[ent] <= day) & (day < self.suspended_until[ent])

    def owes(self, ent: np.ndarray, day: np.ndarray) -> np.ndarray:
        """A decision is still not carried out and the last one is older than 60 days."""
        return (self.owed_until[ent] > day) & (day - self.last_decided[ent] > OWED_AFTER_DAYS)


def inspect(
    rng: np.random.Generator,
    params: Params,
    sanctions: Sanctions,
    violations: Log,
    inspection: np.ndarray,
    ent: np.ndarray,
    day: np.ndarray,
    risk: np.ndarray,
    overdue: np.ndarray,
) -> np.ndarray:
    """Violations found at inspections (ids, enterprise, day, risk of each, a major hazard
    overdue) and the decisions that follow; returns the serious violations per inspection."""
    v = params["violations"]
    firms = sanctions.firms
    m = len(ent)
    industry = firms.industry[ent]
    # ordinary violations
    count = rng.poisson(params.by_industry["violations"][industry] * np.exp(v["risk"] * risk))
    at = np.repeat(np.arange(m), count)
    names = list(v["categories"])
    weights = np.array([float(v["categories"][c]) for c in names])
    category = np.array([CATEGORY[c] for c in names])[
        rng.choice(len(names), len(at), p=weights / weights.sum())
    ]
    serious = rng.random(len(at)) < sigmoid(v["serious"][0] + v["serious"][1] * risk[at])
    # special categories (the behaviours the joint-punishment rules name)
    s = v["special"]
    scale = np.exp(s["risk"] * risk)
    barred = sanctions.barred(ent, day)
    owes, over = sanctions.owes(ent, day), overdue > 0
    chance: dict[str, Any] = {
        "no_permit": np.where(
            barred,
            s["no_permit_while_barred"],
            s["no_permit"] * np.where(firms.permit[ent], 1.0, 0.1) * scale,
        ),
        "operating_under_suspension": np.where(
            sanctions.suspended(ent, day), s["operating_under_suspension"], 0.0
        ),
        "refused_order": 1
        - (1 - s["refused_order_owed"] * owes) * (1 - s["refused_order_overdue"] * over),
        "evading_supervision": s["evading_supervision"] * scale,
        "unaccepted_project": s["unaccepted_project"] * scale,
        "beyond_licence": s["beyond_licence"] * scale,
        "false_report": s["false_report"] * scale,
    }
    for name, allowed in s["industries"].items():
        chance[name] = chance[name] * np.isin(industry, [params.industry(k) for k in allowed])
    special_at, special_category = [], []
    for name, p in chance.items():
        hit = np.flatnonzero(rng.random(m) < np.minimum(p, 1.0))
        special_at.append(hit)
        special_category.append(np.full(len(hit), CATEGORY[name]))
    at = np.concatenate([at, *special_at])
    category = np.concatenate([category, *special_category])
    special = np.arange(len(at)) >= len(serious)
    serious = np.concatenate([serious, np.ones(int(special.sum()), bool)])
    order = np.argsort(at, kind="stable")
    at, category, serious, special = at[order], category[order], serious[order], special[order]

    penalised = special | (
        rng.random(len(at)) < np.where(serious, v["penalised_serious"], v["penalised_general"])
    )
    penalty = np.full(len(at), -1, dtype=np.int64)
    decided_for = _decide_inspections(
        rng,
        params,
        sanctions,
        at[penalised],
        category[penalised],
        serious[penalised],
        ent,
        day,
        risk,
        barred,
    )
    penalty[penalised] = decided_for[at[penalised]]
    violations.add(
        ent=ent[at],
        day=day[at],
        serious=serious,
        category=category,
        inspection=inspection[at],
        penalty=penalty,
    )
    return np.bincount(at[serious], minlength=m)


def _decide_inspections(
    rng: np.random.Generator,
    params: Params,
    sanctions: Sanctions,
    at: np.ndarray,
    category: np.ndarray,
    serious: np.ndarray,
    ent: np.ndarray,
    day: np.ndarray,
    risk: np.ndarray,
    barred: np.ndarray,
) -> np.ndarray:
    """One decision per inspection with penalised violations; returns the decision id by
    inspection position (-1 where none)."""
    p, v = sanctions.p, params["violations"]
    m = len(ent)
    n_serious = np.bincount(at[serious], minlength=m)
    n_general = np.bincount(at[~serious], minlength=m)

    def has(*names: str) -> np.ndarray:
        codes = [CATEGORY[c] for c in names]
        return np.bincount(at[np.isin(category, codes)], minlength=m) > 0

    n_special = np.bincount(at[np.isin(category, SPECIAL)], minlength=m)
    which = np.flatnonzero(n_serious + n_general > 0)
    permit = sanctions.firms.permit[ent]
    u = rng.random(m)
    closing = has("operating_under_suspension") | (has("no_permit") & barred)
    close, revoke = v["closure_when_defiant"], v["closure_when_defiant"] + v["revoke_when_defiant"]
    suspend = v["suspend_serious"]
    measure = np.select(
        [
            closing & (u < close),
            closing & (u < revoke),
            has("false_report") & (u < v["revoke_false_report"]),
            has(
                "no_permit",
                "beyond_licence",
                "unaccepted_project",
                "evading_supervision",
                "refused_order",
            )
            & (u < v["suspend_special"]),
            (n_serious >= 2) & (u < suspend),
            (n_serious >= 2) & (u < suspend + v["permit_suspend_serious"]) & permit,
            n_serious >= 1,
            u < v["warning_share"],
        ],
        [
            MEASURE["closure"],
            np.where(permit, MEASURE["permit_revoked"], MEASURE["suspension"]),
            MEASURE["permit_revoked"],
            MEASURE["suspension"],
            MEASURE["suspension"],
            MEASURE["permit_suspended"],
            MEASURE["fine"],
            MEASURE["warning"],
        ],
        default=MEASURE["fine"],
    )
    median = (
        p["fine_general_median"] * np.sqrt(n_general)
        + p["fine_serious_median"] * (n_serious - n_special)
        + p["fine_special_median"] * n_special
    )
    amount = np.maximum(1000, np.round(median * np.exp(p["fine_sd"] * rng.standard_normal(m)), -3))
    with_fine = (measure == MEASURE["fine"]) | (
        (measure != MEASURE["warning"]) & (rng.random(m) < 0.7)
    )
    amount = np.where(with_fine, amount, np.nan)
    sector = rng.random(m) < 0.5
    department = np.where(
        sector, sanctions.firms.sector_department[ent], sanctions.firms.local_department[ent]
    )
    decided = day + uniform_days(rng, p["decision_days"], m)
    ids = np.full(m, -1, dtype=np.int64)
    ids[which] = sanctions.decide(
        rng,
        ent[which],
        decided[which],
        measure[which],
        amount[which],
        np.zeros(len(which), np.int64),
        department[which],
        risk[which],
    )
    return ids
