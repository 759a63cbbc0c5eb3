"""Training sets: an as-of grid × active enterprises, features as of each date, and the label
"an accident occurred in (T, T + horizon]".

Features use only what was known at T (:func:`features.pit.as_of`). The label uses the latest
known version of each accident (by the day it occurred, whenever it was reported), and only grid
dates whose whole horizon lies within the data are kept.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import pandas as pd

from features.pit import as_of
from features.store import History, day_number

Label = Literal["responsible_accident", "casualty"]
LABELS: dict[str, str] = {
    "responsible_accident": "an accident the enterprise was found responsible for",
    "casualty": "an accident with at least one death or serious injury (any responsibility)",
}


def as_of_grid(
    history: History,
    start: dt.date | str,
    end: dt.date | str,
    freq: str = "QS",
) -> pd.DataFrame:
    """(uscc, as_of) for every date of ``pd.date_range(start, end, freq)`` and every enterprise
    active then: known at that date and established on or before it."""
    dates = pd.date_range(start, end, freq=freq)
    enterprises = history.tables["enterprises"]
    established = enterprises.days("established_on")
    usccs = np.asarray(enterprises.raw("uscc"), dtype=object)
    parts = []
    for date in dates:
        t = day_number(date)
        rows = enterprises.rows_at(t)
        rows = rows[established[rows] <= t]
        parts.append(pd.DataFrame({"uscc": usccs[rows], "as_of": date}))
    if not parts:
        return pd.DataFrame({"uscc": pd.Series(dtype=object), "as_of": pd.Series(dtype="M8[s]")})
    grid = pd.concat(parts, ignore_index=True)
    grid["as_of"] = grid["as_of"].astype("datetime64[s]")
    return grid.sort_values(["as_of", "uscc"], kind="stable", ignore_index=True)


def training_set(
    history: History,
    grid: pd.DataFrame,
    horizon_months: int = 12,
    label: Label = "responsible_accident",
    *,
    data_end: dt.date | None = None,
) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """(X, y, meta) for the rows of ``grid`` whose horizon (T, T + horizon_months] ends on or
    before ``data_end`` (default: the latest date anything in the history was known from).
    ``meta`` has uscc, as_of and horizon_end; all three share the kept grid rows' index."""
    if label not in LABELS:
        raise ValueError(f"label must be one of {sorted(LABELS)}, not {label!r}")
    if horizon_months <= 0:
        raise ValueError(f"horizon_months must be positive, not {horizon_months}")
    end = data_end or history.known_until
    if end is None:
        raise ValueError("the history is empty: no data end to bound the horizon")
    starts = pd.to_datetime(grid["as_of"]).astype("datetime64[s]")
    horizon_end = (starts + pd.DateOffset(months=horizon_months)).astype("datetime64[s]")
    keep = (horizon_end <= pd.Timestamp(end)).to_numpy()
    meta = pd.DataFrame(
        {"uscc": grid["uscc"][keep], "as_of": starts[keep], "horizon_end": horizon_end[keep]}
    )
    X = as_of(history, meta[["uscc", "as_of"]])
    y = pd.Series(_labels(history, meta, label), index=meta.index, name=label)
    return X, y, meta


def _labels(history: History, meta: pd.DataFrame, label: Label) -> np.ndarray:
    """1 where an accident of the kind occurred in (as_of, horizon_end] for the pair's uscc."""
    accidents = history.tables["accidents"]
    latest = accidents.rows_at(np.iinfo(np.int64).max)
    usccs = np.asarray(accidents.raw("uscc"), dtype=object)[latest]
    if label == "responsible_accident":
        chosen = accidents.flag("responsible")[latest]
    else:
        casualties = accidents.number("deaths") + accidents.number("serious_injuries")
        chosen = casualties[latest] > 0
    events = pd.DataFrame(
        {"uscc": usccs[chosen], "day": accidents.days("occurred_on")[latest][chosen]}
    ).sort_values(["uscc", "day"], kind="stable")
    # per pair: is there an event day d with as_of < d <= horizon_end?  Two searchsorted calls
    # on (uscc, day) keys answer it for all pairs at once.
    keys = pd.Index(
        pd.unique(
            np.concatenate(
                [events["uscc"].to_numpy(dtype=object), meta["uscc"].to_numpy(dtype=object)]
            )
        )
    )
    span = np.int64(1) << 32
    event_key = keys.get_indexer(events["uscc"]).astype(np.int64) * span + events["day"].to_numpy()
    event_key.sort()
    pair = keys.get_indexer(meta["uscc"]).astype(np.int64) * span
    lo = pair + _days(meta["as_of"])
    hi = pair + _days(meta["horizon_end"])
    return (
        np.searchsorted(event_key, hi, "right") > np.searchsorted(event_key, lo, "right")
    ).astype(np.int8)


def _days(dates: pd.Series) -> np.ndarray:
    return dates.to_numpy(dtype="datetime64[D]").astype(np.int64)
