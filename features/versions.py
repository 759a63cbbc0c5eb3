"""One table's record versions as flat arrays, resolved as of a date by one comparison and one
pass over keys. Columns come either from a frame (big batches: pandas' Arrow strings are fast)
or from plain numpy arrays (one enterprise read from the database: no per-column pandas work);
derived arrays (day numbers, flags, memberships) are computed once and cached.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from typing import Any

import numpy as np
import pandas as pd

NEVER = np.int64(2**62)  # the day number of an empty "until" date (rectified_on, fulfilled_on)
SMALL = 20_000  # below this many rows, plain Python sets beat pandas' per-call overhead
EPOCH = dt.date(1970, 1, 1).toordinal()  # day number 0
TRUE = frozenset({"true", "1", "yes", "y", "t"})


def day_numbers(values: Any) -> np.ndarray:
    """Dates (datetime64, ``datetime.date`` objects or ISO text) as int64 days since 1970-01-01;
    empty dates become :data:`NEVER`."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "M":
        stamps = values
    elif isinstance(values, pd.Series) and values.dtype.kind == "M":
        stamps = values.to_numpy()
    else:
        stamps = pd.to_datetime(pd.Series(values, copy=False), errors="raise").to_numpy()
    days = stamps.astype("datetime64[D]")
    return np.where(np.isnat(days), NEVER, days.astype(np.int64))


def day_number(value: dt.date | str | pd.Timestamp) -> int:
    if type(value) is dt.date:  # the common case, without pandas
        return value.toordinal() - EPOCH
    return int(day_numbers([value])[0])


class TableVersions:
    """All versions of one table's records (contract columns + known_from + version_id)."""

    def __init__(
        self,
        name: str,
        columns: pd.DataFrame | dict[str, np.ndarray],
        ent: np.ndarray,
        key_code: np.ndarray | None,
    ) -> None:
        self.name = name
        self._columns = columns
        self.ent = ent  # position of each row's uscc in History.usccs
        self.key_code = key_code  # set when a record has several versions (rows sorted by it)
        self._cache: dict[Any, np.ndarray] = {}
        self.known_from = self.days("known_from")

    def __len__(self) -> int:
        return len(self.ent)

    @property
    def frame(self) -> pd.DataFrame:
        if isinstance(self._columns, dict):
            self._columns = pd.DataFrame(self._columns, copy=False)
        return self._columns

    def raw(self, column: str) -> np.ndarray | pd.Series:
        return self._columns[column]

    def rows_at(self, t: int) -> np.ndarray:
        """Positions of the versions in force at day ``t``, one per record known then: of each
        record's versions with known_from <= t, the one with the greatest (known_from,
        version_id) — the last, as rows are sorted by (key, known_from, version_id)."""
        rows = np.flatnonzero(self.known_from <= t)
        if self.key_code is None or not len(rows):
            return rows
        keys = self.key_code[rows]
        last = np.empty(len(rows), dtype=bool)
        last[:-1] = keys[1:] != keys[:-1]
        last[-1] = True
        return rows[last]

    def cached(self, what: Any, make: Callable[[], np.ndarray]) -> np.ndarray:
        if what not in self._cache:
            self._cache[what] = make()
        return self._cache[what]

    def cells(self, column: str) -> np.ndarray:
        """The column as a numpy array (text as objects)."""
        return self.cached(("cells", column), lambda: np.asarray(self.raw(column)))

    def days(self, column: str) -> np.ndarray:
        return self.cached(("days", column), lambda: day_numbers(self.raw(column)))

    def number(self, column: str) -> np.ndarray:
        def make() -> np.ndarray:
            cells = self.raw(column)
            if isinstance(cells, np.ndarray) and cells.dtype.kind in "biuf":
                return cells.astype(np.float64)
            return pd.to_numeric(pd.Series(cells, copy=False), errors="raise").to_numpy(
                dtype=np.float64, na_value=np.nan
            )

        return self.cached(("number", column), make)

    def isin(self, column: str, values: Collection[str]) -> np.ndarray:
        def make() -> np.ndarray:
            cells = self.raw(column)
            if len(cells) < SMALL:
                wanted = frozenset(values)
                return np.fromiter((v in wanted for v in cells), dtype=bool, count=len(cells))
            return pd.Series(cells, copy=False).isin(list(values)).to_numpy(dtype=bool)

        return self.cached(("isin", column, frozenset(values)), make)

    def codes(self, column: str, categories: Collection[str]) -> np.ndarray:
        """Position of each cell in ``categories`` (−1 when not among them or empty)."""

        def make() -> np.ndarray:
            cells = self.raw(column)
            if len(cells) < SMALL:
                index = {c: i for i, c in enumerate(categories)}
                return np.fromiter(
                    (index.get(v, -1) for v in cells), dtype=np.int64, count=len(cells)
                )
            return pd.Categorical(cells, categories=list(categories)).codes.astype(np.int64)

        return self.cached(("codes", column, tuple(categories)), make)

    def flag(self, column: str) -> np.ndarray:
        def make() -> np.ndarray:
            cells = self.raw(column)
            if isinstance(cells, pd.Series) and pd.api.types.is_bool_dtype(cells.dtype):
                return pd.array(cells, dtype="boolean").fillna(False).to_numpy(dtype=bool)
            return np.fromiter((_truth(v) for v in cells), dtype=bool, count=len(cells))

        return self.cached(("flag", column), make)


def _truth(cell: Any) -> bool:
    if isinstance(cell, str):
        return cell.strip().lower() in TRUE
    return cell is not None and not pd.isna(cell) and bool(cell)
