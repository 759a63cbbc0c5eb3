"""Histories as versions, in memory: read from the database or taken from frames, resolved as of
any date.

A :class:`History` holds every version of every record (contract columns plus ``known_from`` and
``version_id``). The version of a record in force at date T is the one with the greatest
``(known_from, version_id)`` among those with ``known_from <= T``; records with no such version
were not known at T. Required tables (enterprises, accidents) are always present, perhaps empty;
an optional table not given (from frames) or with no rows at all (in the database) is *absent*,
and features computed from it are missing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Select, String, bindparam, cast, select
from sqlalchemy.orm import Session

from features.contracts import TABLES, Kind, Table
from features.tables import HISTORY_TABLES
from features.versions import NEVER, SMALL, TableVersions, day_number, day_numbers

__all__ = [
    "NEVER",
    "History",
    "HistoryError",
    "TableVersions",
    "day_number",
    "day_numbers",
    "read_history",
    "stream_versions",
]

VERSION_COLUMNS = ("known_from", "version_id")
_CHUNK = 5_000  # usccs per IN (...) list


class HistoryError(ValueError):
    """Frames that do not fit the history contract; the message names table and column."""


@dataclass
class History:
    """Every version of every record, by table; resolve with :meth:`known_at`."""

    tables: dict[str, TableVersions]
    usccs: pd.Index  # every enterprise code in any table

    @classmethod
    def from_frames(cls, tables: Mapping[str, pd.DataFrame]) -> History:
        """A history from frames in the contract's columns (files, the simulator). A table given,
        even with no rows, is present; one not given is absent. A frame without ``known_from``
        has one version per record, known from the contract's ``known_on`` column; one with
        ``known_from`` (and perhaps ``version_id``) may hold several."""
        unknown = sorted(set(tables) - set(TABLES))
        if unknown:
            raise HistoryError(f"unknown table(s) {unknown}; expected some of {list(TABLES)}")
        frames: dict[str, pd.DataFrame] = {}
        for name, table in TABLES.items():
            frame = tables.get(name)
            if frame is None:
                if table.required:
                    raise HistoryError(f"{name}: required table is missing")
                continue
            frames[name] = _conform(table, frame)
        return cls._build(frames)

    @classmethod
    def from_columns(cls, tables: Mapping[str, Mapping[str, Any]]) -> History:
        """A history from array-likes per column (contract columns plus ``known_from`` and
        ``version_id``), each table's rows in ``version_id`` order: typed as
        :func:`read_history` types what it reads, with no per-column pandas work — for the
        many small groups of a batch engine. Every table given is present."""
        unknown = sorted(set(tables) - set(TABLES))
        if unknown:
            raise HistoryError(f"unknown table(s) {unknown}; expected some of {list(TABLES)}")
        missing = [n for n, t in TABLES.items() if t.required and n not in tables]
        if missing:
            raise HistoryError(f"{missing[0]}: required table is missing")
        return cls._build({name: _typed(TABLES[name], cols) for name, cols in tables.items()})

    @classmethod
    def _build(cls, columns: Mapping[str, pd.DataFrame | dict[str, np.ndarray]]) -> History:
        if sum(len(c["uscc"]) for c in columns.values()) < SMALL:
            return cls._build_small(columns)
        coded = {name: pd.factorize(_hashable(c["uscc"])) for name, c in columns.items()}
        seen = [np.asarray(uniques, dtype=object) for _, uniques in coded.values()]
        usccs = pd.Index(pd.unique(np.concatenate(seen)) if seen else [], dtype=object)
        tables = {}
        for name, cols in columns.items():
            codes, uniques = coded[name]
            ent = usccs.get_indexer(np.asarray(uniques, dtype=object))[codes]
            tables[name] = _versions(TABLES[name], cols, ent)
        return cls(tables=tables, usccs=usccs)

    @classmethod
    def _build_small(cls, columns: Mapping[str, pd.DataFrame | dict[str, np.ndarray]]) -> History:
        """The same as :meth:`_build` with a plain dict: a few enterprises (the online path)."""
        position: dict[str, int] = {}
        tables = {}
        for name, cols in columns.items():
            cells = cols["uscc"]
            ent = np.fromiter(
                (position.setdefault(u, len(position)) for u in cells), np.int64, len(cells)
            )
            tables[name] = _versions(TABLES[name], cols, ent)
        return cls(tables=tables, usccs=pd.Index(list(position), dtype=object))

    def known_at(self, when: dt.date | str | pd.Timestamp) -> dict[str, pd.DataFrame]:
        """Per table, the version in force at ``when`` of each record known then."""
        return {name: self.table_at(name, when) for name in self.tables}

    def table_at(self, name: str, when: dt.date | str | pd.Timestamp) -> pd.DataFrame:
        """One table of :meth:`known_at` (without building the others)."""
        tv = self.tables[name]
        return tv.frame.iloc[tv.rows_at(day_number(when))].reset_index(drop=True)

    def columns_at(
        self, name: str, when: dt.date | str | pd.Timestamp, columns: Collection[str]
    ) -> dict[str, np.ndarray]:
        """:meth:`table_at` as numpy arrays of the ``columns`` asked (text as objects, dates as
        datetime64): no frame is built, for the one-enterprise paths of the service."""
        tv = self.tables[name]
        rows = tv.rows_at(day_number(when))
        return {c: tv.cells(c)[rows] for c in columns}

    @property
    def known_until(self) -> dt.date | None:
        """The latest date anything in this history was known from (the data's end)."""
        latest = [int(tv.known_from.max()) for tv in self.tables.values() if len(tv)]
        return np.datetime64(max(latest), "D").astype(dt.date) if latest else None


def _conform(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    missing = [c.name for c in table.columns if c.required and c.name not in frame.columns]
    if missing:
        raise HistoryError(f"{table.name}: missing column(s) {', '.join(missing)}")
    out = frame.reset_index(drop=True)
    out = out.loc[:, [c for c in out.columns if c in table.names or c in VERSION_COLUMNS]]
    for col in table.columns:
        if col.name not in out.columns:
            out[col.name] = pd.Series(None, index=out.index, dtype=object)
        elif col.kind is Kind.DATE:
            out[col.name] = _dates(out[col.name], f"{table.name}.{col.name}")
    known = out["known_from"] if "known_from" in out.columns else out[table.known_on]
    out["known_from"] = _dates(known, f"{table.name}.known_from")
    if out["known_from"].isna().any():
        raise HistoryError(f"{table.name}.known_from: empty for some versions")
    if "version_id" in out.columns:
        out["version_id"] = out["version_id"].astype(np.int64)
    else:
        out["version_id"] = np.arange(len(out), dtype=np.int64)
    return out[[*table.names, *VERSION_COLUMNS]]


def _dates(cells: pd.Series, where: str) -> pd.Series:
    if cells.dtype == "datetime64[s]":
        return cells
    try:
        return pd.to_datetime(cells, errors="raise").astype("datetime64[s]")
    except (ValueError, TypeError) as exc:
        raise HistoryError(f"{where}: not dates: {exc}") from exc


def _hashable(cells: pd.Series | np.ndarray) -> pd.Series | np.ndarray:
    """Text cells in a form pandas hashes fast: Arrow strings for big object columns."""
    if len(cells) < SMALL:
        return np.asarray(cells, dtype=object)
    if cells.dtype == object:
        return pd.array(np.asarray(cells), dtype="str")
    return cells


def _versions(
    table: Table, columns: pd.DataFrame | dict[str, np.ndarray], ent: np.ndarray
) -> TableVersions:
    keys_column = _hashable(columns[table.key])
    if isinstance(keys_column, np.ndarray):  # small: a set is quicker than an index
        unique = len(set(keys_column)) == len(keys_column)
    else:
        unique = pd.Index(keys_column).is_unique
    if unique:
        return TableVersions(table.name, columns, ent, None)
    keys, _ = pd.factorize(keys_column)
    known = day_numbers(columns["known_from"])
    order = np.lexsort((np.asarray(columns["version_id"]), known, keys))
    if isinstance(columns, dict):
        columns = {name: values[order] for name, values in columns.items()}
    else:
        columns = columns.iloc[order].reset_index(drop=True)
    return TableVersions(table.name, columns, ent[order], keys[order])


_KIND_DTYPE: dict[Kind, Any] = {
    Kind.DATE: "datetime64[s]",
    Kind.INT: np.float64,
    Kind.MONEY: np.float64,
}


def _stored_columns(table: Table, labels: list[str], rows: list[Any]) -> dict[str, np.ndarray]:
    """Rows as read from the database, as typed numpy arrays (dates arrive as ISO text)."""
    kinds = {c.name: c.kind for c in table.columns}
    kinds.update(known_from=Kind.DATE)
    cells = zip(*rows, strict=True) if rows else ([] for _ in labels)
    arrays = {}
    for label, column in zip(labels, cells, strict=True):
        if label == "version_id":
            arrays[label] = np.array(column, dtype=np.int64)
        else:
            arrays[label] = np.array(column, dtype=_KIND_DTYPE.get(kinds[label], object))
    return arrays


def _typed(table: Table, columns: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Columns as :func:`_stored_columns` makes them: dates ``datetime64[s]``, numbers float64,
    ``version_id`` int64, anything else objects with None for empty."""
    kinds = {c.name: c.kind for c in table.columns}
    kinds.update(known_from=Kind.DATE)
    arrays = {}
    for label in (*table.names, *VERSION_COLUMNS):
        values = columns[label]
        if label == "version_id":
            arrays[label] = np.asarray(values, dtype=np.int64)
        elif kinds[label] is Kind.DATE:
            cells = np.asarray(values)
            kind = cells.dtype.kind
            arrays[label] = (
                cells.astype("datetime64[s]")
                if kind == "M"
                else _dates(pd.Series(cells, copy=False), f"{table.name}.{label}").to_numpy()
            )
        elif kinds[label] in (Kind.INT, Kind.MONEY):
            arrays[label] = np.asarray(values, dtype=np.float64)
        else:
            cells = np.array(values, dtype=object)
            empty = pd.isna(cells)
            if empty.any():
                cells[empty] = None
            arrays[label] = cells
    return arrays


def _has_rows(connection: Connection, orm: Any) -> bool:
    return connection.execute(select(orm.c.version_id).limit(1)).first() is not None


@cache
def _selects(name: str) -> tuple[Select[Any], Select[Any]]:
    """(all versions, versions of the usccs in bind parameter ``usccs``), built once."""
    table, orm = TABLES[name], HISTORY_TABLES[name].__table__
    kinds = {c.name: c.kind for c in table.columns}
    picked = []
    for label in (*table.names, *VERSION_COLUMNS):
        column = orm.c[label]
        # dates as ISO text: numpy parses it far faster than it converts date objects
        dated = label == "known_from" or kinds.get(label) is Kind.DATE
        picked.append(cast(column, String).label(label) if dated else column)
    every = select(*picked).order_by(orm.c.version_id)
    return every, every.where(orm.c.uscc.in_(bindparam("usccs", expanding=True)))


def read_history(
    session: Session,
    *,
    usccs: Collection[str] | None = None,
    tables: Collection[str] | None = None,
) -> History:
    """Every stored version of the histories of ``usccs`` (all enterprises when None), in every
    table or in the ``tables`` named (a part of a history, for what reads only those). An
    optional table with no rows at all is absent; one with rows, none of them for ``usccs``, is
    present and empty (so an enterprise's features never depend on other enterprises)."""
    connection = session.connection()
    wanted = None if usccs is None else sorted(set(usccs))
    columns: dict[str, dict[str, np.ndarray]] = {}
    for name, table in TABLES.items():
        if tables is not None and name not in tables:
            continue
        every, some = _selects(name)
        rows: list[Any] = []
        if wanted is None:
            rows = list(connection.execute(every).all())
        else:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                rows.extend(connection.execute(some, {"usccs": chunk}).all())
        orm = HISTORY_TABLES[name].__table__
        if rows or table.required or (wanted is not None and _has_rows(connection, orm)):
            labels = [*table.names, *VERSION_COLUMNS]
            columns[name] = _stored_columns(table, labels, rows)
    return History._build(columns)


def stream_versions(
    session: Session, name: str, *, rows: int = 200_000
) -> Iterator[dict[str, np.ndarray]]:
    """Every stored version of table ``name`` in ``version_id`` order, as typed arrays (the
    columns :func:`read_history` reads) in blocks of at most ``rows``: a whole store in bounded
    memory, for exports."""
    table = TABLES[name]
    labels = [*table.names, *VERSION_COLUMNS]
    every, _ = _selects(name)
    streamed = session.connection().execute(every, execution_options={"stream_results": True})
    for block in streamed.partitions(rows):
        yield _stored_columns(table, labels, list(block))
