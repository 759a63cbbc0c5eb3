"""One as-of date and a set of enterprises: the records known then, as flat numpy arrays.

Everything here is vectorised over all enterprises of the scope: counts are ``np.bincount``,
latest dates ``np.maximum.at``, medians one sort. Enterprises are numbered 0..m−1 by position.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

from features.catalogue import CATALOGUE, DAYS_SINCE_CAP
from features.store import History, TableVersions

NONE = np.iinfo(np.int64).min  # "no event" for a latest date


class Scope:
    """Enterprises ``usccs`` (distinct) as of day ``t``."""

    def __init__(self, history: History, t: int, usccs: np.ndarray) -> None:
        self.history = history
        self.t = int(t)
        self.m = len(usccs)
        found = history.usccs.get_indexer(pd.Index(usccs, dtype=object))
        self.lut = np.full(len(history.usccs), -1, dtype=np.int64)
        self.lut[found[found >= 0]] = np.flatnonzero(found >= 0)

    def events(self, table: str) -> Events | None:
        """The versions of ``table`` in force at t for this scope's enterprises; None if absent."""
        versions = self.history.tables.get(table)
        if versions is None:
            return None
        rows = versions.rows_at(self.t)
        local = self.lut[versions.ent[rows]]
        keep = local >= 0
        return Events(versions, rows[keep], local[keep], self.t, self.m)


class Events:
    def __init__(
        self, versions: TableVersions, rows: np.ndarray, ent: np.ndarray, t: int, m: int
    ) -> None:
        self.versions = versions
        self.rows = rows
        self.ent = ent
        self.t = t
        self.m = m

    def days(self, column: str) -> np.ndarray:
        return self.versions.days(column)[self.rows]

    def number(self, column: str) -> np.ndarray:
        return self.versions.number(column)[self.rows]

    def isin(self, column: str, values: Collection[str]) -> np.ndarray:
        return self.versions.isin(column, values)[self.rows]

    def flag(self, column: str) -> np.ndarray:
        return self.versions.flag(column)[self.rows]

    def within(self, days: np.ndarray, window_days: int, *, lag: int = 0) -> np.ndarray:
        """``days`` in (t − lag − window, t − lag]."""
        end = self.t - lag
        return (days > end - window_days) & (days <= end)

    def count(self, mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        w = mask.astype(np.float64) if weights is None else np.where(mask, weights, 0.0)
        return np.bincount(self.ent, weights=w, minlength=self.m)

    def latest(self, days: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Per enterprise the greatest of ``days`` where ``mask`` (:data:`NONE` when none)."""
        out = np.full(self.m, NONE, dtype=np.int64)
        np.maximum.at(out, self.ent[mask], days[mask])
        return out

    def largest(self, values: np.ndarray, mask: np.ndarray, empty: float) -> np.ndarray:
        out = np.full(self.m, -np.inf)
        np.maximum.at(out, self.ent[mask], values[mask])
        return np.where(np.isinf(out), empty, out)

    def median(self, values: np.ndarray, mask: np.ndarray, empty: float) -> np.ndarray:
        """Per enterprise the median of ``values`` where ``mask``; ``empty`` when none."""
        ent, vals = self.ent[mask], values[mask]
        out = np.full(self.m, empty, dtype=np.float64)
        if not len(ent):
            return out
        order = np.lexsort((vals, ent))
        ent, vals = ent[order], vals[order]
        groups, starts, sizes = np.unique(ent, return_index=True, return_counts=True)
        low = vals[starts + (sizes - 1) // 2]
        high = vals[starts + sizes // 2]
        out[groups] = (low + high) / 2.0
        return out

    def days_since(self, days: np.ndarray, mask: np.ndarray, feature: str) -> np.ndarray:
        """Days from the latest event to t, capped (no event counts as the cap)."""
        cap = CATALOGUE[feature].cap or DAYS_SINCE_CAP
        latest = self.latest(days, mask & (days <= self.t))
        since = np.where(latest != NONE, self.t - latest, cap).astype(np.float64)
        return np.minimum(since, cap)


def window(feature: str) -> int:
    """The window of a catalogue feature, in days."""
    days = CATALOGUE[feature].window_days
    if days is None:
        raise KeyError(f"feature {feature!r} has no window in the catalogue")
    return days
