"""Last year's accident experience, as known at the quote's as-of date: the worst grade (国务院令
第493号) among the enterprise's accidents that occurred in the months before the period start."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from features.grades import accident_grades
from features.store import History
from models.tariff.policy import AccidentExperience


def window(period_start: dt.date, months: int) -> tuple[dt.date, dt.date]:
    """[first day, last day] of the experience window before ``period_start``."""
    first = (pd.Timestamp(period_start) - pd.DateOffset(months=months)).date()
    return first, period_start - dt.timedelta(days=1)


def experience(
    history: History,
    usccs: Sequence[str],
    *,
    as_of: dt.date,
    period_start: dt.date,
    rule: AccidentExperience,
) -> pd.DataFrame:
    """Per code (index): ``accident_grade`` (worst grade, "" when none) and ``accident_ids``
    (the accidents in the window, ';'-joined), from the accidents known at ``as_of``."""
    out = pd.DataFrame({"accident_grade": "", "accident_ids": ""}, index=pd.Index(usccs))
    known = history.table_at("accidents", as_of)
    if not len(known):
        return out
    first, last = window(period_start, rule.months)
    occurred = pd.to_datetime(known["occurred_on"])
    keep = (
        (occurred >= pd.Timestamp(first))
        & (occurred <= pd.Timestamp(last))
        & known["uscc"].isin(out.index)
    )
    if rule.responsible_only:
        keep &= known["responsible"].astype(bool)
    hits = known.loc[keep, ["uscc", "accident_id"]].assign(grade=accident_grades(known[keep]))
    if not len(hits):
        return out
    hits = hits.sort_values(["uscc", "accident_id"])
    worst = hits.groupby("uscc", observed=True)["grade"].max()
    ids = hits.groupby("uscc", observed=True)["accident_id"].agg(lambda s: ";".join(map(str, s)))
    out.loc[worst.index, "accident_grade"] = worst.astype(str)
    out.loc[ids.index, "accident_ids"] = ids
    return out


def record_inputs(
    history: History,
    usccs: Sequence[str],
    *,
    as_of: dt.date,
    period_start: dt.date,
    rule: AccidentExperience,
) -> pd.DataFrame:
    """What the enterprise record and the history known at ``as_of`` give a quote, per code
    (index, in the order asked; codes not known then are left out): ``industry``, ``employees``,
    ``standardization_grade``, ``accident_grade``, ``accident_ids`` and ``experience_window``."""
    known = history.table_at("enterprises", as_of)
    records = known.drop_duplicates("uscc", keep="last").set_index("uscc")
    found = [u for u in dict.fromkeys(usccs) if u in records.index]
    out = records.loc[found, ["industry", "employees", "standardization_grade"]].copy()
    out["standardization_grade"] = pd.to_numeric(out["standardization_grade"], errors="coerce")
    out = out.join(experience(history, found, as_of=as_of, period_start=period_start, rule=rule))
    first, last = window(period_start, rule.months)
    out["experience_window"] = f"{first}–{last}"
    return out
