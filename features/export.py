"""Histories as Parquet for batch engines beyond one machine (``safecredit export-history``).

Layout of an export folder::

    manifest.json                          tables present, bucket count, rows per table, and
                                           every file with its rows and sha256
    <table>/bucket=NNN/part-0.parquet      one file per table and bucket

Every version of every record is written with ``known_from`` and ``version_id``, so a reader
resolves any as-of date exactly as the store does (:class:`features.store.History`). All of an
enterprise's rows, in every table, sit under the same bucket number ``crc32(uscc) mod buckets``
— a hash Spark computes identically (``pmod(crc32(uscc), buckets)``). As in
:func:`features.store.read_history`, an optional table with no rows at all is absent: it is left
out of the manifest, and features computed from it are missing.

A run writes into a temporary folder beside the target and swaps it in at the end, so readers
never see half an export and a re-run replaces the previous one whole.
"""

from __future__ import annotations

import json
import os
import shutil
import zlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.contracts import TABLES, Kind, Table
from features.manifest import files_section
from features.store import VERSION_COLUMNS, History

MANIFEST = "manifest.json"
FORMAT = 1
FLUSH_ROWS = 65_536  # rows buffered per bucket before a row group is written

Block = Mapping[str, Any]  # column name → array-like (a frame or a dict of arrays)


class ExportError(ValueError):
    """A folder that is not an export, or one that may not be replaced."""


@dataclass(frozen=True)
class Manifest:
    buckets: int
    rows: dict[str, int]  # the tables present, with their row (version) counts

    @property
    def tables(self) -> list[str]:
        return list(self.rows)


def arrow_schema(table: Table) -> pa.Schema:
    """The Parquet columns of ``table``: the contract's, then ``known_from``, ``version_id``."""
    types = {Kind.DATE: pa.date32(), Kind.INT: pa.int64(), Kind.MONEY: pa.float64()}
    types[Kind.BOOL] = pa.bool_()
    fields = [pa.field(c.name, types.get(c.kind, pa.string())) for c in table.columns]
    fields += [pa.field("known_from", pa.date32()), pa.field("version_id", pa.int64())]
    return pa.schema(fields)


def buckets_of(usccs: Any, buckets: int) -> np.ndarray:
    """``crc32(uscc) mod buckets`` per code (hashed once per distinct code)."""
    codes, distinct = pd.factorize(np.asarray(usccs, dtype=object))
    hashed = np.fromiter(
        (zlib.crc32(str(u).encode()) % buckets for u in distinct), np.int64, len(distinct)
    )
    return hashed[codes] if len(codes) else np.empty(0, np.int64)


def _column(values: Any, kind: Kind | None, type_: pa.DataType) -> pa.Array:
    if kind is Kind.DATE or type_ == pa.date32():
        days = pd.to_datetime(pd.Series(values, copy=False), errors="raise").to_numpy()
        return pa.array(days.astype("datetime64[D]"), type=type_, from_pandas=True)
    if kind in (Kind.INT, Kind.MONEY) or type_ == pa.int64():
        numbers = pd.to_numeric(pd.Series(values, copy=False), errors="raise")
        floats = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        return pa.array(floats, from_pandas=True).cast(type_)
    if kind is Kind.BOOL:
        cells = pd.Series(values, copy=False).astype(object)
        return pa.array([None if pd.isna(v) else bool(v) for v in cells], type=type_)
    cells = pd.Series(values, copy=False).astype(object)
    return pa.array(cells.where(cells.notna(), None), type=type_, from_pandas=True)


def _arrow_block(table: Table, schema: pa.Schema, block: Block) -> pa.Table:
    kinds = {c.name: c.kind for c in table.columns}
    arrays = [_column(block[f.name], kinds.get(f.name), f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


class _TableWriter:
    """One table's bucket files, written in row groups of about :data:`FLUSH_ROWS` rows."""

    def __init__(self, folder: Path, schema: pa.Schema) -> None:
        self.folder, self.schema = folder, schema
        self.writers: dict[int, pq.ParquetWriter] = {}
        self.pending: dict[int, list[pa.Table]] = {}
        self.rows = 0
        self.bucket_rows: dict[int, int] = {}

    def add(self, data: pa.Table, bucket: np.ndarray) -> None:
        if not data.num_rows:
            return
        self.rows += data.num_rows
        order = np.argsort(bucket, kind="stable")
        sorted_buckets = bucket[order]
        data = data.take(pa.array(order))
        starts = np.flatnonzero(np.r_[True, sorted_buckets[1:] != sorted_buckets[:-1]])
        for start, stop in zip(starts, [*starts[1:], len(order)], strict=True):
            b = int(sorted_buckets[start])
            self.pending.setdefault(b, []).append(data.slice(start, stop - start))
            self.bucket_rows[b] = self.bucket_rows.get(b, 0) + int(stop - start)
            if sum(t.num_rows for t in self.pending[b]) >= FLUSH_ROWS:
                self._flush(b)

    def _flush(self, b: int) -> None:
        parts = self.pending.pop(b, [])
        if not parts:
            return
        if b not in self.writers:
            where = self.folder / f"bucket={b:03d}"
            where.mkdir(parents=True)
            self.writers[b] = pq.ParquetWriter(where / "part-0.parquet", self.schema)
        self.writers[b].write_table(pa.concat_tables(parts))

    def close(self) -> None:
        for b in list(self.pending):
            self._flush(b)
        for writer in self.writers.values():
            writer.close()


def write_export(
    out: Path,
    blocks: Mapping[str, Iterable[Block]],
    *,
    buckets: int,
    progress: bool = False,
) -> Manifest:
    """Write the export folder ``out`` from blocks of rows per table (contract columns plus
    ``known_from`` and ``version_id``); replaces an earlier export at ``out`` whole."""
    from tqdm import tqdm

    if buckets < 1:
        raise ExportError(f"buckets must be at least 1, got {buckets}")
    unknown = sorted(set(blocks) - set(TABLES))
    if unknown:
        raise ExportError(f"unknown table(s) {unknown}; expected some of {list(TABLES)}")
    out = Path(out)
    _check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    rows: dict[str, int] = {}
    files: dict[str, int] = {}  # file (relative to the export) → rows
    try:
        for name, table in TABLES.items():
            if name not in blocks:
                if table.required:
                    raise ExportError(f"{name}: required table is missing")
                continue
            schema = arrow_schema(table)
            writer = _TableWriter(tmp / name, schema)
            bar = tqdm(desc=f"export {name}", unit=" rows", disable=not progress, leave=False)
            try:
                for block in blocks[name]:
                    data = _arrow_block(table, schema, block)
                    writer.add(data, buckets_of(block["uscc"], buckets))
                    bar.update(data.num_rows)
            finally:
                writer.close()
                bar.close()
            if writer.rows or table.required:
                rows[name] = writer.rows
                files.update(
                    (f"{name}/bucket={b:03d}/part-0.parquet", n)
                    for b, n in sorted(writer.bucket_rows.items())
                )
                if not writer.rows:  # present and empty: an empty file keeps the schema
                    (tmp / name).mkdir(exist_ok=True)
                    pq.write_table(schema.empty_table(), tmp / name / "empty.parquet")
                    files[f"{name}/empty.parquet"] = 0
            else:
                shutil.rmtree(tmp / name, ignore_errors=True)
        manifest = Manifest(buckets=buckets, rows=rows)
        document = {
            "format": FORMAT,
            "buckets": buckets,
            "tables": rows,
            "files": files_section(tmp, files),
        }
        (tmp / MANIFEST).write_text(json.dumps(document, indent=2) + "\n")
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def _check_replaceable(out: Path) -> None:
    if out.exists() and (
        not out.is_dir() or (any(out.iterdir()) and not (out / MANIFEST).exists())
    ):
        raise ExportError(f"{out}: exists and is not an export folder; refusing to replace it")


def _swap(tmp: Path, out: Path) -> None:
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def read_manifest(folder: Path) -> Manifest:
    """The manifest of the export at ``folder``."""
    path = Path(folder) / MANIFEST
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise ExportError(
            f"{folder}: no {MANIFEST}; run `safecredit export-history` first"
        ) from None
    if document.get("format") != FORMAT:
        raise ExportError(f"{path}: format {document.get('format')!r}, expected {FORMAT}")
    return Manifest(buckets=int(document["buckets"]), rows=dict(document["tables"]))


def read_export(folder: Path, *, usccs: Collection[str] | None = None) -> History:
    """The export at ``folder`` as a history on one machine: every enterprise, or only
    ``usccs`` (then only their buckets are read). Tables as the manifest says: each present,
    perhaps empty; versions in ``version_id`` order."""
    import pyarrow.dataset as ds

    manifest = read_manifest(folder)
    frames = {}
    for name in manifest.tables:
        columns = [*TABLES[name].names, *VERSION_COLUMNS]
        data = ds.dataset(Path(folder) / name, format="parquet", partitioning="hive")
        where = None
        if usccs is not None:
            codes = sorted(set(usccs))
            wanted = sorted({int(b) for b in buckets_of(codes, manifest.buckets)})
            where = ds.field("bucket").isin(wanted) & ds.field("uscc").isin(codes)
        frame = data.to_table(columns=columns, filter=where).to_pandas()
        frames[name] = frame.sort_values("version_id", kind="stable")
    return History.from_frames(frames)


def versioned(tables: Mapping[str, pd.DataFrame]) -> dict[str, list[Block]]:
    """Blocks for :func:`write_export` from frames in the contract's columns (a simulated
    province, files): as :meth:`History.from_frames` reads such frames, a frame without
    ``known_from`` holds one version per record, known from the contract's ``known_on``
    column, and versions are numbered in row order."""
    out: dict[str, list[Block]] = {}
    for name, frame in tables.items():
        extra: dict[str, Any] = {}
        if "known_from" not in frame.columns:
            extra["known_from"] = frame[TABLES[name].known_on]
        if "version_id" not in frame.columns:
            extra["version_id"] = np.arange(len(frame), dtype=np.int64)
        out[name] = [frame.assign(**extra)]
    return out
