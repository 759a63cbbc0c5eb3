"""Loading an extract into the event store: all or nothing, idempotent, versioned.

A record whose content is unchanged is skipped; a changed record gets a new version known from
the extract's date (``known_on``), so that features as of any earlier date are unchanged; a new
record's first version is known from its own date (its ``known_on`` column in the contract).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from tqdm import tqdm

from features.contracts import TABLES, Kind, Table
from features.extract import Encoding, read_extract
from features.tables import HISTORY_TABLES, Load
from features.uscc import CheckMode
from features.validate import Problem, validate

CHUNK = 20_000
HASH_KEYS = ("safecredit-rows1", "safecredit-rows2")  # 16 characters each, as SipHash wants


class IngestError(Exception):
    """The extract was refused; nothing was written. ``problems`` name file, row, column, reason."""

    def __init__(self, problems: list[Problem], warnings: list[Problem] | None = None) -> None:
        super().__init__(f"{len(problems)} problem(s) in the extract; nothing was loaded")
        self.problems = problems
        self.warnings = warnings or []


@dataclass
class LoadReport:
    load_id: int | None  # None when nothing changed
    known_on: dt.date
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # table → new/changed/unchanged
    warnings: list[Problem] = field(default_factory=list)

    @property
    def written(self) -> int:
        return sum(c["new"] + c["changed"] for c in self.counts.values())


def ingest(
    session: Session,
    folder: Path,
    *,
    known_on: dt.date | None = None,
    check_mode: CheckMode = CheckMode.STRICT,
    allow_list: Collection[str] = frozenset(),
    encoding: Encoding | str = Encoding.UTF8,
    require_manifest: bool = False,
    progress: bool = False,
) -> LoadReport:
    """Validate the extract in ``folder`` as a whole, then write it in the caller's transaction.
    CSV files are read in ``encoding``; ``require_manifest`` refuses a folder without a
    ``manifest.json``.

    Raises :class:`IngestError` or :class:`features.extract.ExtractError` (nothing written)
    when anything is wrong.
    """
    known_on = known_on or dt.date.today()
    extract, files = read_extract(folder, encoding=encoding, require_manifest=require_manifest)
    owners = {
        name: _stored_owners(session, TABLES[name])
        for name in extract.frames
        if name != "enterprises"
    }
    for name in ("penalties", "inspections"):
        owners.setdefault(name, _stored_owners(session, TABLES[name]))
    known_keys: dict[str, Collection[str]] = {
        "enterprises": _stored_keys(session, TABLES["enterprises"]),
        "penalties": owners["penalties"].index,
        "inspections": owners["inspections"].index,
    }
    checked = validate(
        extract,
        known_on=known_on,
        check_mode=check_mode,
        allow_list=allow_list,
        known_keys=known_keys,
        stored_owners=owners,
    )
    if checked.errors:
        raise IngestError(checked.errors, checked.warnings)

    report = LoadReport(load_id=None, known_on=known_on, warnings=checked.warnings)
    plans = {}
    for name, frame in checked.frames.items():
        plans[name] = _plan(session, TABLES[name], frame, known_on)
        report.counts[name] = {k: int(v) for k, v in plans[name][1].items()}
    if report.written == 0:
        return report

    load = Load(
        loaded_at=dt.datetime.now(dt.UTC),
        known_on=known_on,
        source=str(folder.resolve()),
        files=files,
        counts=report.counts,
    )
    session.add(load)
    session.flush()
    report.load_id = load.load_id
    total = report.written
    with tqdm(total=total, desc="loading", unit="rows", disable=not progress) as bar:
        for name, (rows, _) in plans.items():
            if len(rows):
                rows["load_id"] = load.load_id
                for written in write_rows(session, TABLES[name], rows):
                    bar.update(written)
    return report


def _stored_keys(session: Session, table: Table) -> set[str]:
    orm = HISTORY_TABLES[table.name]
    return set(session.scalars(select(getattr(orm, table.key)).distinct()))


def _stored_owners(session: Session, table: Table) -> pd.Series:
    """The enterprise of each stored record id of ``table`` (id → uscc)."""
    orm: Any = HISTORY_TABLES[table.name]
    pairs = session.execute(select(getattr(orm, table.key), orm.uscc).distinct()).all()
    frame = pd.DataFrame(pairs, columns=["key", "uscc"], dtype=object)
    # ids are never shared, so one row per id; should a store hold more, the first is named
    frame = frame.drop_duplicates("key")
    return pd.Series(frame["uscc"].to_numpy(), index=pd.Index(frame["key"]), dtype=object)


def content_hashes(table: Table, frame: pd.DataFrame) -> np.ndarray:
    """A digest of each row's contract columns, normalised, to tell changed records."""
    parts = {}
    for col in table.columns:
        values = frame[col.name]
        if col.kind is Kind.DATE:
            text = values.dt.strftime("%Y-%m-%d")
        elif col.kind is Kind.MONEY:
            text = values.round(2).map("{:.2f}".format)
        elif col.kind is Kind.BOOL:
            text = values.map({True: "true", False: "false"})
        else:
            text = values.astype(object).map(str)
        parts[col.name] = text.where(values.notna(), "").astype(object)
    normalised = pd.DataFrame(parts, index=frame.index)
    # two keyed 64-bit SipHashes of the row: 128 bits, vectorised, stable across runs
    halves = [
        pd.util.hash_pandas_object(normalised, index=False, hash_key=key).to_numpy()
        for key in HASH_KEYS
    ]
    digest = np.stack(halves, axis=1).astype(">u8").tobytes().hex().encode("ascii")
    return np.frombuffer(digest, dtype="S32").astype(str)


def _plan(
    session: Session, table: Table, frame: pd.DataFrame, known_on: dt.date
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The versions to write for ``frame`` and the new/changed/unchanged counts."""
    frame = frame.copy()
    frame["content_hash"] = content_hashes(table, frame)
    orm: Any = HISTORY_TABLES[table.name]
    key = getattr(orm, table.key)
    stored = pd.DataFrame(
        session.execute(
            select(key, orm.content_hash, orm.known_from, orm.version_id).where(
                orm.known_from <= known_on
            )
        ).all(),
        columns=[table.key, "stored_hash", "known_from", "version_id"],
    )
    if len(stored):
        stored = stored.sort_values(["known_from", "version_id"]).drop_duplicates(
            table.key, keep="last"
        )
        merged = frame[[table.key]].merge(stored, on=table.key, how="left")
        stored_hash = merged["stored_hash"].to_numpy()
    else:
        stored_hash = np.full(len(frame), None, dtype=object)
    is_new = pd.isna(stored_hash)
    unchanged = ~is_new & (stored_hash == frame["content_hash"].to_numpy())
    changed = ~is_new & ~unchanged
    first_known = frame[table.known_on].dt.date.to_numpy()
    frame["known_from"] = np.where(is_new, first_known, np.array(known_on, dtype=object))
    rows = frame.loc[is_new | changed]
    counts = {
        "new": int(is_new.sum()),
        "changed": int(changed.sum()),
        "unchanged": int(unchanged.sum()),
    }
    return rows, counts


def _python_columns(table: Table, rows: pd.DataFrame) -> dict[str, list[Any]]:
    columns: dict[str, list[Any]] = {}
    for col in table.columns:
        values = rows[col.name]
        py = values.dt.date if col.kind is Kind.DATE else values
        py = py.astype(object)
        columns[col.name] = py.where(values.notna(), None).tolist()
    for extra in ("known_from", "content_hash", "load_id"):
        columns[extra] = rows[extra].tolist()
    return columns


def write_rows(session: Session, table: Table, rows: pd.DataFrame) -> Iterator[int]:
    """Append ``rows`` (contract columns + known_from, content_hash, load_id) in chunks, yielding
    how many each chunk wrote. PostgreSQL gets COPY in CSV blocks; other databases a multi-row
    INSERT."""
    orm = HISTORY_TABLES[table.name]
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        text = _copy_frame(table, rows)
        names = ", ".join(text.columns)
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        for start in range(0, len(text), CHUNK):
            chunk = text.iloc[start : start + CHUNK]
            block = chunk.to_csv(header=False, index=False, na_rep="", lineterminator="\n")
            with cursor.copy(f"COPY {orm.__tablename__} ({names}) FROM STDIN (FORMAT csv)") as copy:
                copy.write(block.encode("utf-8"))
            yield len(chunk)
        return
    columns = _python_columns(table, rows)
    names_list = list(columns)
    tuples = list(zip(*columns.values(), strict=True))
    for start in range(0, len(tuples), CHUNK):
        chunk_rows = tuples[start : start + CHUNK]
        session.execute(insert(orm), [dict(zip(names_list, r, strict=True)) for r in chunk_rows])
        yield len(chunk_rows)


def _copy_frame(table: Table, rows: pd.DataFrame) -> pd.DataFrame:
    """The rows as COPY's CSV reads them: ISO dates, t/f, whole numbers without a decimal point,
    and an unquoted empty field for NULL (no contract column holds an empty string)."""
    out = {}
    for col in table.columns:
        values = rows[col.name]
        if col.kind is Kind.DATE:
            out[col.name] = values.dt.strftime("%Y-%m-%d")
        elif col.kind is Kind.BOOL:
            out[col.name] = values.map({True: "t", False: "f"})
        elif col.kind is Kind.INT:
            out[col.name] = values.astype("Int64")
        else:
            out[col.name] = values
    out["known_from"] = pd.to_datetime(rows["known_from"]).dt.strftime("%Y-%m-%d")
    out["content_hash"] = rows["content_hash"]
    out["load_id"] = rows["load_id"]
    return pd.DataFrame(out, index=rows.index)
