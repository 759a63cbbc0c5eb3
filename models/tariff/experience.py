"""Last year's accident experience, as known at the quote's as-of date: the worst grade (国务院令
第493号) among the enterprise's accidents that occurred in the months before the period start.

The work is done on numpy arrays of the history's versions known then (no frame per call), so
one enterprise's quote costs microseconds here; the frames are built only for the callers that
want them."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from features.grades import GRADE_ORDER, grade_names
from features.store import History
from features.versions import day_number
from models.tariff.policy import AccidentExperience

RANK = {g: i for i, g in enumerate(GRADE_ORDER)}
RECORD = ("industry", "employees", "standardization_grade")
ACCIDENT = (
    *("uscc", "accident_id", "occurred_on", "responsible"),
    *("deaths", "serious_injuries", "direct_loss_cny"),  # what grades it
)


def window(period_start: dt.date, months: int) -> tuple[dt.date, dt.date]:
    """[first day, last day] of the experience window before ``period_start``."""
    return months_before(period_start, months), period_start - dt.timedelta(days=1)


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day of the month ``months`` calendar months earlier, or that month's last day
    when it is shorter (31 March, one month before: 28 or 29 February), as pandas'
    ``DateOffset(months=)`` counts, which the quotes recorded before were priced with; on every
    quote, so without building a Timestamp."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def worst_accidents(
    history: History,
    usccs: Sequence[str],
    *,
    as_of: dt.date,
    period_start: dt.date,
    rule: AccidentExperience,
) -> dict[str, tuple[str, str]]:
    """Per code with accidents in the window: (worst grade, the accidents' ids ';'-joined in
    order), from the accidents known at ``as_of``."""
    if "accidents" not in history.tables:
        return {}
    a = history.columns_at("accidents", as_of, ACCIDENT)
    if not len(a["uscc"]):
        return {}
    first, last = window(period_start, rule.months)
    occurred = a["occurred_on"].astype("datetime64[D]").astype(np.int64)
    wanted = frozenset(usccs)
    keep = (
        (occurred >= day_number(first))
        & (occurred <= day_number(last))
        & ~np.isnat(a["occurred_on"])
        & np.fromiter((u in wanted for u in a["uscc"]), bool, len(a["uscc"]))
    )
    if rule.responsible_only:
        keep &= a["responsible"].astype(bool)
    rows = np.flatnonzero(keep)
    if not len(rows):
        return {}
    grades = grade_names(*(_numbers(a[c][rows]) for c in ACCIDENT[4:]))
    found: dict[str, list[tuple[str, str]]] = {}
    for u, accident, grade in zip(a["uscc"][rows], a["accident_id"][rows], grades, strict=True):
        found.setdefault(u, []).append((str(accident), str(grade)))
    out = {}
    for u, hits in found.items():
        hits.sort()
        worst = max((g for _, g in hits), key=RANK.__getitem__)
        out[u] = (worst, ";".join(i for i, _ in hits))
    return out


def _numbers(cells: np.ndarray) -> np.ndarray:
    return pd.to_numeric(cells, errors="coerce") if cells.dtype == object else cells


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
    worst = worst_accidents(history, usccs, as_of=as_of, period_start=period_start, rule=rule)
    return pd.DataFrame(_experience_columns(worst, usccs), index=pd.Index(usccs), dtype=object)


def _experience_columns(
    worst: dict[str, tuple[str, str]], usccs: Sequence[str]
) -> dict[str, list[str]]:
    """``accident_grade`` and ``accident_ids`` of each code ("" for a code without accidents)."""
    none = ("", "")
    return {
        "accident_grade": [worst.get(u, none)[0] for u in usccs],
        "accident_ids": [worst.get(u, none)[1] for u in usccs],
    }


def record_columns(
    history: History,
    usccs: Sequence[str],
    *,
    as_of: dt.date,
    period_start: dt.date,
    rule: AccidentExperience,
) -> dict[str, Any]:
    """:func:`record_inputs` as columns (``uscc`` first), for the callers that price without
    a frame."""
    e = history.columns_at("enterprises", as_of, ("uscc", *RECORD))
    last = {u: i for i, u in enumerate(e["uscc"])}  # the last version of a code wins
    found = [u for u in dict.fromkeys(usccs) if u in last]
    at = np.fromiter((last[u] for u in found), np.int64, len(found))
    worst = worst_accidents(history, found, as_of=as_of, period_start=period_start, rule=rule)
    first, end = window(period_start, rule.months)
    return {
        "uscc": found,
        "industry": e["industry"][at],
        "employees": e["employees"][at],
        "standardization_grade": _numbers(e["standardization_grade"][at]).astype(float),
        **_experience_columns(worst, found),
        "experience_window": [f"{first}–{end}"] * len(found),
    }


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
    columns = record_columns(history, usccs, as_of=as_of, period_start=period_start, rule=rule)
    return pd.DataFrame(columns).set_index("uscc")
