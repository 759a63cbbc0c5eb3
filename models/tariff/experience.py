"""Last year's accident experience, as known at the quote's as-of date: the worst grade (国务院令
第493号) among the enterprise's accidents that occurred in the months before the period start.

The work is done on numpy arrays of the history's versions known then (no frame per call), so
one enterprise's quote costs microseconds here; the frames are built only for the callers that
want them."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
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
    wanted = frozenset(usccs)
    rows = np.flatnonzero(np.fromiter((u in wanted for u in a["uscc"]), bool, len(a["uscc"])))
    return _worst(a, rows, window(period_start, rule.months), rule)


def _worst(
    a: dict[str, np.ndarray],
    rows: np.ndarray,
    span: tuple[dt.date, dt.date],
    rule: AccidentExperience,
) -> dict[str, tuple[str, str]]:
    """:func:`worst_accidents` of the accident ``rows`` of ``a`` (the codes' accidents)."""
    if not len(rows):
        return {}
    occurred = a["occurred_on"][rows]
    days = occurred.astype("datetime64[D]").astype(np.int64)
    keep = (days >= day_number(span[0])) & (days <= day_number(span[1])) & ~np.isnat(occurred)
    if rule.responsible_only:
        keep &= a["responsible"][rows].astype(bool)
    rows = rows[keep]
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


@dataclass(frozen=True)
class Records:
    """The enterprise records and the accidents known at ``as_of``, found by code: what a quote
    reads beside its score. Taken once for a day's score book (see ``service.engine.books``), whose
    quotes then read nothing more; or from a history for the one call."""

    as_of: dt.date
    enterprises: dict[str, np.ndarray]  # uscc and RECORD, the versions known at as_of
    row: dict[str, int]  # uscc → its row of ``enterprises`` (the last version of a code wins)
    accidents: dict[str, np.ndarray] | None  # ACCIDENT columns (None: no accidents table)
    accident_rows: dict[str, np.ndarray]  # uscc → its rows of ``accidents``, ascending

    @classmethod
    def known(cls, history: History, as_of: dt.date) -> Records:
        e = history.columns_at("enterprises", as_of, ("uscc", *RECORD))
        a = None
        by: dict[str, list[int]] = {}
        if "accidents" in history.tables:
            a = history.columns_at("accidents", as_of, ACCIDENT)
            for i, u in enumerate(a["uscc"]):
                by.setdefault(u, []).append(i)
        return cls(
            as_of=as_of,
            enterprises=e,
            row={u: i for i, u in enumerate(e["uscc"])},
            accidents=a,
            accident_rows={u: np.array(rows, np.int64) for u, rows in by.items()},
        )

    def columns(
        self, usccs: Sequence[str], *, period_start: dt.date, rule: AccidentExperience
    ) -> dict[str, Any]:
        """:func:`record_columns` of ``usccs`` (the codes known, in the order asked)."""
        found = [u for u in dict.fromkeys(usccs) if u in self.row]
        at = np.fromiter((self.row[u] for u in found), np.int64, len(found))
        span = window(period_start, rule.months)
        worst: dict[str, tuple[str, str]] = {}
        if self.accidents is not None:
            mine = [self.accident_rows[u] for u in found if u in self.accident_rows]
            rows = np.sort(np.concatenate(mine)) if mine else np.empty(0, np.int64)
            worst = _worst(self.accidents, rows, span, rule)
        e = self.enterprises
        return {
            "uscc": found,
            "industry": e["industry"][at],
            "employees": e["employees"][at],
            "standardization_grade": _numbers(e["standardization_grade"][at]).astype(float),
            **_experience_columns(worst, found),
            "experience_window": [f"{span[0]}–{span[1]}"] * len(found),
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
    return Records.known(history, as_of).columns(usccs, period_start=period_start, rule=rule)


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
