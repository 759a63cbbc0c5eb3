"""Listing rules applied to the event history: each matcher finds the records that trigger a rule.

A trigger names the unit, the evidence (record ids), the penalty decision that carries the
listing and the event's date. No penalty decision, no trigger: a rule without one is skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pandas as pd

from features.grades import GRADE_ORDER, accident_grades
from registry.policy import Matcher, Policy
from registry.status import add_months

Evidence = tuple[tuple[str, str], ...]  # ((table, record id), …), sorted


@dataclass(frozen=True)
class Trigger:
    rule: str
    uscc: str
    evidence: Evidence
    penalty_decision_id: str | None
    event_on: dt.date


@dataclass(frozen=True)
class History:
    """The history tables as known on one date (frames in contract columns)."""

    as_of: dt.date
    enterprises: pd.DataFrame
    accidents: pd.DataFrame
    penalties: pd.DataFrame
    violations: pd.DataFrame
    hazards: pd.DataFrame


def _graded(h: History, m: Matcher) -> pd.DataFrame:
    a = h.accidents
    if a.empty:
        return a
    grades = accident_grades(
        a.astype({"deaths": int, "serious_injuries": int, "direct_loss_cny": float})
    )
    lo, hi = GRADE_ORDER.index(m.min_grade), GRADE_ORDER.index(m.max_grade)
    rank = grades.cat.codes
    keep = (rank >= lo) & (rank <= hi) & (a["deaths"].astype(int) >= m.min_deaths)
    if m.responsible:
        keep &= a["responsible"].astype(bool)
    return a[keep]


def _one_per_accident(frame: pd.DataFrame) -> Iterator[Trigger]:
    for row in frame.itertuples(index=False):
        yield Trigger(
            "",
            row.uscc,
            (("accidents", row.accident_id),),
            row.penalty_decision_id,
            row.occurred_on,
        )


def _accident_grade(h: History, m: Matcher) -> Iterator[Trigger]:
    yield from _one_per_accident(_graded(h, m))


def _accident_count(h: History, m: Matcher) -> Iterator[Trigger]:
    known = set(h.penalties["penalty_decision_id"]) if len(h.penalties) else set()
    for uscc, group in _graded(h, m).groupby("uscc", sort=True):
        rows = group.sort_values(["occurred_on", "accident_id"]).to_dict("records")
        for i, last in enumerate(rows):
            start = add_months(last["occurred_on"], -m.window_months)
            window = [r for r in rows[: i + 1] if r["occurred_on"] > start]
            if len(window) < m.count:
                continue
            penalties = [
                r["penalty_decision_id"]
                for r in reversed(window)
                if r["penalty_decision_id"] in known
            ]
            evidence = tuple(sorted(("accidents", r["accident_id"]) for r in window))
            yield Trigger(
                "", str(uscc), evidence, penalties[0] if penalties else None, last["occurred_on"]
            )


def _accident_fine_multiplier(h: History, m: Matcher) -> Iterator[Trigger]:
    p = h.penalties
    if p.empty or h.accidents.empty:
        return
    mult = p["fine_multiplier"]
    fined = p[mult.notna() & mult.between(m.multiplier_low, m.multiplier_high)]
    hit = h.accidents[h.accidents["penalty_decision_id"].isin(set(fined["penalty_decision_id"]))]
    yield from _one_per_accident(hit)


def _accident_reporting(h: History, m: Matcher) -> Iterator[Trigger]:
    a = h.accidents
    if not a.empty:
        yield from _one_per_accident(a[a["reporting"].isin(m.reporting)])


def _accident_principal_fled(h: History, m: Matcher) -> Iterator[Trigger]:
    a = h.accidents
    if not a.empty:
        yield from _one_per_accident(a[a["principal_fled"].fillna(False).astype(bool)])


def _violations(h: History, m: Matcher, keep: pd.Series) -> Iterator[Trigger]:
    v = h.violations[keep]
    if m.industries:
        industry = h.enterprises.set_index("uscc")["industry"]
        v = v[v["uscc"].map(industry).isin(m.industries)]
    for row in v.itertuples(index=False):
        yield Trigger(
            "", row.uscc, (("violations", row.violation_id),), row.penalty_decision_id, row.found_on
        )


def _violation_category(h: History, m: Matcher) -> Iterator[Trigger]:
    if not h.violations.empty:
        yield from _violations(h, m, h.violations["category"].isin(m.categories))


def _serious_penalty(h: History, m: Matcher) -> Iterator[Trigger]:
    v, p = h.violations, h.penalties
    if v.empty or p.empty:
        return
    measure = v["penalty_decision_id"].map(p.set_index("penalty_decision_id")["measure"])
    yield from _violations(h, m, (v["severity"] == "serious") & measure.isin(m.measures))


def _major_hazard_overdue(h: History, m: Matcher) -> Iterator[Trigger]:
    z = h.hazards
    if z.empty:
        return
    open_ = z[(z["level"] == "major") & z["rectified_on"].isna() & (z["due_on"] < h.as_of)]
    p = h.penalties
    for row in open_.itertuples(index=False):
        later = p[(p["uscc"] == row.uscc) & (p["decided_on"] >= row.due_on)] if len(p) else p
        first = later.sort_values(["decided_on", "penalty_decision_id"]).head(1)
        penalty = None if first.empty else first["penalty_decision_id"].iloc[0]
        yield Trigger("", row.uscc, (("hazards", row.hazard_id),), penalty, row.due_on)


MATCHERS: dict[str, Callable[[History, Matcher], Iterator[Trigger]]] = {
    "accident_grade": _accident_grade,
    "accident_count": _accident_count,
    "accident_fine_multiplier": _accident_fine_multiplier,
    "accident_reporting": _accident_reporting,
    "accident_principal_fled": _accident_principal_fled,
    "violation_category": _violation_category,
    "serious_penalty": _serious_penalty,
    "major_hazard_overdue": _major_hazard_overdue,
}


def triggers(history: History, policy: Policy) -> list[Trigger]:
    """Every trigger of every enabled rule within the policy's event dates, penalty or not."""
    found: dict[tuple[str, str, Evidence], Trigger] = {}
    for rule in policy.rules:
        if not rule.enabled:
            continue
        for matcher in rule.match:
            for t in MATCHERS[matcher.kind](history, matcher):
                if policy.events_from and t.event_on < policy.events_from:
                    continue
                if policy.events_until and t.event_on > policy.events_until:
                    continue
                t = Trigger(rule.code, t.uscc, t.evidence, t.penalty_decision_id, t.event_on)
                found.setdefault((t.rule, t.uscc, t.evidence), t)
    return sorted(found.values(), key=lambda t: (t.uscc, t.rule, t.event_on, t.evidence))
