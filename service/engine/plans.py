"""Plans from the champion's decisions as of a day: whom to inspect (regulators) and whom to
offer prevention services (insurers). The ranking is :mod:`models.plans`; here the candidates
are scored from the event store, with their actionable reasons as the focus, and every plan
carries its inputs and versions so that it can be made again."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from features.store import History, read_history
from models.plans import PlanError, PlanPolicy, inspection_plan, prevention_plan
from service.engine.decisions import Scorer, frame, score_batch

REGION = re.compile(r"\d{2}(\d{2}){0,2}")  # a province, city or county division code prefix


def _focus(table: pd.DataFrame, lang: str) -> list[str]:
    """Per row: the recourse actions offered, then the principal reasons, as one text."""
    cols = [c for c in table.columns if re.fullmatch(rf"recourse\d_{lang}", c)]
    cols += [c for c in table.columns if re.fullmatch(rf"reason\d_{lang}", c)]
    return (
        [
            "; ".join(str(v) for v in row if isinstance(v, str) and v)
            for row in table[cols].itertuples(index=False)
        ]
        if cols
        else [""] * len(table)
    )


def scored_table(
    session: Session, scorer: Scorer, history: History, *, as_of: dt.date, usccs: list[str]
) -> pd.DataFrame:
    """The champion's decisions as one row per enterprise, with ``gain`` (the best recourse
    action's points) and ``focus_en``/``focus_zh`` (the actions and reasons)."""
    table = frame(scorer, score_batch(session, scorer, as_of=as_of, usccs=usccs, history=history))
    gain = table.get("recourse1_points", 0)
    return table.assign(
        gain=np.asarray(gain, dtype=float),
        focus_en=_focus(table, "en"),
        focus_zh=_focus(table, "zh"),
    )


def plan_inspections(
    session: Session,
    scorer: Scorer,
    policy: PlanPolicy,
    *,
    as_of: dt.date,
    capacity: int,
    region: str | None = None,
    random_share: float = 0.0,
    seed: int = 0,
) -> dict[str, Any]:
    """The inspection plan as a JSON-ready answer: inputs, versions, counts and the plan."""
    if region is not None and not REGION.fullmatch(region):
        raise PlanError(f"region {region!r}: a division code of 2, 4 or 6 digits")
    if not 1 <= capacity <= policy.inspection.max_capacity:
        raise PlanError(
            f"capacity must be between 1 and {policy.inspection.max_capacity}, not {capacity}"
        )
    if not 0 <= random_share <= 1:
        raise PlanError(f"random share must be between 0 and 1, not {random_share}")
    history = read_history(session)
    known = history.table_at("enterprises", as_of)
    if region is not None:
        known = known[known["region_code"].astype(str).str.startswith(region)]
    if not len(known):
        where = f" in region {region}" if region else ""
        raise PlanError(f"no enterprise known on {as_of}{where}")
    usccs = sorted(known["uscc"])
    table = scored_table(session, scorer, history, as_of=as_of, usccs=usccs)
    table = table.merge(known[["uscc", "region_code", "employees"]], on="uscc", how="left")
    plan = inspection_plan(
        table,
        policy,
        capacity=capacity,
        random_share=random_share,
        seed=seed,
        factor=scorer.policy.scale.factor,
    )
    rows = [
        {
            "rank": int(r["rank"]),
            "uscc": r["uscc"],
            "region_code": str(r["region_code"]),
            "employees": int(r["employees"]),
            "grade": r["grade"],
            "score": int(r["score"]),
            "probability": float(r["probability"]),
            "expected_accidents": float(r["expected_accidents"]),
            "prevented": float(r["prevented"]),
            "picked": r["picked"],
            "why": r["why"],
            "focus_en": r["focus_en"],
            "focus_zh": r["focus_zh"],
        }
        for r in plan.to_dict(orient="records")
    ]
    return {
        "as_of": as_of.isoformat(),
        "capacity": capacity,
        "region": region,
        "random_share": random_share,
        "seed": seed,
        "candidates": len(table),
        "ranked": sum(r["picked"] == "ranked" for r in rows),
        "random": sum(r["picked"] == "random" for r in rows),
        "prevented": float(sum(r["prevented"] for r in rows)),
        "versions": {**scorer.versions, "plan_policy": policy.label},
        "plan": rows,
    }


def plan_prevention(
    session: Session,
    scorer: Scorer,
    policy: PlanPolicy,
    *,
    book: pd.DataFrame,
    as_of: dt.date,
    capacity: int,
) -> dict[str, Any]:
    """The prevention plan of a quoted book (``uscc``, ``premium_cny``) as a JSON-ready answer."""
    missing = {"uscc", "premium_cny"} - set(book.columns)
    if missing:
        raise PlanError(f"the book lacks the column(s) {sorted(missing)}")
    book = book.assign(uscc=book["uscc"].astype(str).str.upper())
    premiums = pd.to_numeric(book["premium_cny"], errors="coerce")
    if premiums.isna().any() or (premiums < 0).any():
        row = int(np.flatnonzero(premiums.isna() | (premiums < 0))[0]) + 2
        raise PlanError(f"book row {row}: premium_cny must be a number ≥ 0")
    book = book.assign(premium_cny=premiums).groupby("uscc", as_index=False)["premium_cny"].sum()
    history = read_history(session, usccs=list(book["uscc"]))
    known = set(history.table_at("enterprises", as_of)["uscc"])
    unknown = sorted(set(book["uscc"]) - known)
    if unknown:
        raise PlanError(f"not enterprises known on {as_of}: {', '.join(unknown[:5])}")
    table = scored_table(session, scorer, history, as_of=as_of, usccs=list(book["uscc"]))
    merged = book.merge(table, on="uscc", how="left")
    plan, summary = prevention_plan(
        merged, policy, capacity=capacity, factor=scorer.policy.scale.factor
    )
    rows = [
        {
            "rank": int(r["rank"]),
            "uscc": r["uscc"],
            "grade": r["grade"],
            "premium_cny": float(r["premium_cny"]),
            "probability": float(r["probability"]),
            "loss_avoided_cny": float(r["loss_avoided_cny"]),
            "actions_en": r["focus_en"],
            "actions_zh": r["focus_zh"],
        }
        for r in plan.to_dict(orient="records")
    ]
    return {
        "as_of": as_of.isoformat(),
        "capacity": capacity,
        "summary": summary,
        "versions": {**scorer.versions, "plan_policy": policy.label},
        "plan": rows,
    }
