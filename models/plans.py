"""Where to act: an inspection plan (regulators) ranks enterprises by the accidents an
inspection is expected to prevent, with a share drawn at random weighted by grade (双随机); a
prevention plan (insurers) ranks a book by the loss the recourse actions are expected to avoid
and prices it against the premium's prevention budget.

The expected number of responsible accidents in 12 months is E = −ln(1 − p) from the risk
model's probability p (Poisson: p = 1 − e^−E), which prices exposure (industry, headcount) and
conduct together. Taking the enterprise's best recourse action raises its score by ``gain``
points, which divides its odds by exp(gain / factor) (the scale's points per unit of log-odds):
p' and E' follow. An inspection prevents ``base_effect · E`` (hidden dangers it finds whatever
the record says) plus ``(1 − base_effect) · (E − E')`` (the actionable reasons it enforces)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from models.policy import POLICY_DIR, PolicyFileError, load_versioned

DEFAULT = POLICY_DIR / "plans-2026.1.toml"
GRADES = ("A", "B", "C", "D")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Inspection(_Strict):
    base_effect: float = Field(ge=0, le=1)
    max_capacity: int = Field(ge=1)
    random_grade_weights: dict[str, float]


class Prevention(_Strict):
    budget_share: float = Field(gt=0, le=1)
    service_cost_cny: float = Field(gt=0)
    effect: float = Field(gt=0, le=1)
    expected_loss_ratio: float = Field(gt=0, le=2)
    max_capacity: int = Field(ge=1)


class PlanPolicy(_Strict):
    version: str
    name: str
    inspection: Inspection
    prevention: Prevention
    sha256: str = ""

    @property
    def label(self) -> str:
        return f"{self.version} ({self.sha256[:12]})"


def load_plan_policy(path: Path = DEFAULT) -> PlanPolicy:
    out = load_versioned(path, PlanPolicy)
    weights = out.inspection.random_grade_weights
    if sorted(weights) != list(GRADES) or min(weights.values()) <= 0:
        raise PolicyFileError(f"{path}: random_grade_weights needs A, B, C, D, each above 0")
    return out


class PlanError(ValueError):
    """A plan cannot be made as asked; the message names the parameter."""


def expected_accidents(p: np.ndarray) -> np.ndarray:
    return -np.log1p(-np.clip(np.asarray(p, dtype=float), 0.0, 1 - 1e-12))


def after_gain(p: np.ndarray, gain: np.ndarray, factor: float) -> np.ndarray:
    """The probability once ``gain`` points are earned (odds divided by exp(gain / factor))."""
    p = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
    logit = np.log(p / (1 - p)) - np.asarray(gain, dtype=float) / factor
    return 1 / (1 + np.exp(-logit))


def inspection_plan(
    candidates: pd.DataFrame,
    policy: PlanPolicy,
    *,
    capacity: int,
    random_share: float,
    seed: int,
    factor: float,
) -> pd.DataFrame:
    """``capacity`` enterprises of ``candidates`` (columns ``uscc``, ``grade``, ``probability``,
    ``gain``: the best recourse action's points, ``focus``: the actionable reasons) — the first
    ``capacity − round(capacity · random_share)`` by expected accidents prevented, the rest
    drawn at random from the others with the policy's grade weights (``picked`` says which).
    The same candidates and seed give the same plan."""
    if not 0 <= random_share <= 1:
        raise PlanError(f"random share must be between 0 and 1, not {random_share}")
    if not 1 <= capacity <= policy.inspection.max_capacity:
        raise PlanError(
            f"capacity must be between 1 and {policy.inspection.max_capacity}, not {capacity}"
        )
    frame = candidates.sort_values("uscc", kind="stable", ignore_index=True).copy()
    e_now = expected_accidents(frame["probability"].to_numpy())
    e_after = expected_accidents(
        after_gain(frame["probability"].to_numpy(), frame["gain"].to_numpy(), factor)
    )
    b = policy.inspection.base_effect
    frame["expected_accidents"] = e_now
    frame["prevented"] = b * e_now + (1 - b) * (e_now - e_after)
    capacity = min(capacity, len(frame))
    drawn = round(capacity * random_share)
    ranked = capacity - drawn
    order = np.lexsort((frame["uscc"].to_numpy(), -frame["prevented"].to_numpy()))
    top = order[:ranked]
    rest = order[ranked:]
    rng = np.random.default_rng(seed)
    weights = policy.inspection.random_grade_weights
    w = frame["grade"].iloc[rest].map(weights).to_numpy(dtype=float)
    chosen = (
        rest[rng.choice(len(rest), size=drawn, replace=False, p=w / w.sum())]
        if drawn
        else np.array([], dtype=int)
    )
    plan = pd.concat(
        [frame.iloc[top].assign(picked="ranked"), frame.iloc[chosen].assign(picked="random")],
        ignore_index=True,
    )
    plan.insert(0, "rank", np.arange(1, len(plan) + 1))
    plan["why"] = [
        _why(r, weights)
        for r in plan[["picked", "prevented", "expected_accidents", "grade", "rank"]].itertuples()
    ]
    return plan


def _why(r: object, weights: dict[str, float]) -> str:
    if r.picked == "random":  # type: ignore[attr-defined]
        g = r.grade  # type: ignore[attr-defined]
        return f"drawn at random (双随机), grade {g} weighted {weights[g]:g}"
    return (
        f"rank {r.rank} by accidents prevented: {r.prevented:.4f} of "  # type: ignore[attr-defined]
        f"{r.expected_accidents:.4f} expected in 12 months"  # type: ignore[attr-defined]
    )


def prevention_plan(
    book: pd.DataFrame, policy: PlanPolicy, *, capacity: int, factor: float
) -> tuple[pd.DataFrame, dict[str, float]]:
    """The book's enterprises (columns ``uscc``, ``premium_cny``, ``probability``, ``gain``,
    ``actions``) ranked by the expected loss a prevention service avoids: the premium's share
    that prices losses × the service's effect × the share of expected accidents the best
    recourse action removes. As many as ``capacity`` and the budget (the premium's prevention
    share, at the policy's cost per service) allow; the summary prices the plan."""
    pv = policy.prevention
    if not 1 <= capacity <= pv.max_capacity:
        raise PlanError(f"capacity must be between 1 and {pv.max_capacity}, not {capacity}")
    frame = book.sort_values("uscc", kind="stable", ignore_index=True).copy()
    p = frame["probability"].to_numpy()
    e_now = expected_accidents(p)
    e_after = expected_accidents(after_gain(p, frame["gain"].to_numpy(), factor))
    share = np.divide(e_now - e_after, e_now, out=np.zeros_like(e_now), where=e_now > 0)
    frame["expected_loss_cny"] = frame["premium_cny"] * pv.expected_loss_ratio
    frame["loss_avoided_cny"] = frame["expected_loss_cny"] * pv.effect * share
    budget = float(frame["premium_cny"].sum() * pv.budget_share)
    affordable = int(budget // pv.service_cost_cny)
    order = np.lexsort((frame["uscc"].to_numpy(), -frame["loss_avoided_cny"].to_numpy()))
    worth = order[frame["loss_avoided_cny"].to_numpy()[order] > 0]
    picked = worth[: min(capacity, affordable)]
    plan = frame.iloc[picked].reset_index(drop=True)
    plan.insert(0, "rank", np.arange(1, len(plan) + 1))
    cost = len(plan) * pv.service_cost_cny
    avoided = float(plan["loss_avoided_cny"].sum())
    summary = {
        "enterprises_in_book": float(len(frame)),
        "premium_cny": float(frame["premium_cny"].sum()),
        "budget_cny": budget,
        "services_affordable": float(affordable),
        "services_planned": float(len(plan)),
        "cost_cny": cost,
        "loss_avoided_cny": avoided,
        "avoided_per_cny": avoided / cost if cost else 0.0,
    }
    return plan, summary
