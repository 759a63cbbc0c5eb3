"""Days as int64 numbers since 1970-01-01, and the monthly steps of the simulation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

NEVER = np.int64(2**62)  # the day of something that has not happened (an open hazard's repair)


def to_days(value: dt.date | str) -> int:
    return int(np.datetime64(value, "D").astype(np.int64))


def to_date(day: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(day))


def to_dates(days: np.ndarray) -> np.ndarray:
    """Day numbers as ``datetime64[s]`` (the validator's date type); :data:`NEVER` becomes NaT."""
    days = np.asarray(days, dtype=np.int64)
    out = np.where(days >= NEVER, np.iinfo(np.int64).min, days).astype("datetime64[D]")
    return out.astype("datetime64[s]")


def month_starts(end: dt.date, months: int) -> np.ndarray:
    """``months + 1`` day numbers: the starts of the last ``months`` months up to ``end``, then the
    day after ``end``. Months are calendar months counted back from the day after ``end``."""
    after = pd.Timestamp(end) + pd.Timedelta(days=1)
    stamps = [after - pd.DateOffset(months=months - j) for j in range(months + 1)]
    return np.array([to_days(s.date()) for s in stamps], dtype=np.int64)
