"""Reading an extract folder: one CSV or Parquet file per contract table, cells as text.

A CSV file is decoded as a whole (UTF-8, with or without a byte-order mark, or GB18030), must
end with a line break and must give every row the header's number of fields; a
``manifest.json`` beside the files is checked when present (:mod:`features.manifest`). A file
that fails any of these is refused before its cells are validated: its rows cannot be trusted.
"""

from __future__ import annotations

import csv
import hashlib
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from features.contracts import TABLES
from features.manifest import MANIFEST, check_files, read_files, sha256
from features.validate import Extract, Problem

BOM = b"\xef\xbb\xbf"


class Encoding(StrEnum):
    UTF8 = "utf-8"
    GB18030 = "gb18030"


class ExtractError(Exception):
    """The folder cannot be read as an extract; ``problems`` say where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Typed Parquet columns as the text a CSV would hold ("" for missing)."""
    out = {}
    for name, column in frame.items():
        if pd.api.types.is_datetime64_any_dtype(column):
            text = column.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(column):
            text = column.map({True: "true", False: "false"})
        elif pd.api.types.is_float_dtype(column):
            whole = column.notna() & (column % 1 == 0) & (column.abs() < 2**63)
            ints = column.where(whole).astype("Int64").astype(str)
            text = column.astype(str).where(~whole, ints)
        else:
            text = column.map(lambda v: v.isoformat() if hasattr(v, "isoformat") else v).astype(str)
        out[name] = text.where(column.notna(), "")
    return pd.DataFrame(out, index=frame.index)


def _decode(data: bytes, encoding: Encoding, file: str) -> tuple[bytes, list[Problem]]:
    """``data`` as UTF-8 without a byte-order mark, or the first bytes that do not decode."""
    if encoding is Encoding.UTF8 and data.startswith(BOM):
        data = data[len(BOM) :]
    try:
        text = data.decode(encoding.value)
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        head = data[: data.find(b"\n")].decode(encoding.value, errors="replace")
        prefix = data[line_start : exc.start].decode(encoding.value, errors="replace")
        header = next(csv.reader([head]), [])
        field = len(next(csv.reader([prefix]), [""])) - 1 if line > 1 else -1
        column = header[field].strip() if 0 <= field < len(header) else "-"
        hint = "; is the file GB18030? (--encoding gb18030)" if encoding is Encoding.UTF8 else ""
        bad = data[exc.start : exc.end].hex(" ")
        reason = f"bytes {bad} are not valid {encoding.value} (file offset {exc.start}){hint}"
        return b"", [Problem(file, line, column, reason)]
    if encoding is Encoding.UTF8:
        return data, []
    return text.encode("utf-8"), []


def _read_csv(data: bytes, file: str) -> tuple[pd.DataFrame | None, list[Problem]]:
    """UTF-8 ``data`` as text cells; a row with another number of fields than the header, or a
    last line without its line break, is a problem."""
    if not data.strip():
        return None, [Problem(file, 1, "-", "empty file: expected a header line")]
    header = next(csv.reader([data[: data.find(b"\n")].decode("utf-8")]), [])
    problems = []
    if not data.endswith(b"\n"):
        last = data.count(b"\n") + 1
        problems.append(
            Problem(file, last, "-", "the file does not end with a line break: last line cut?")
        )
    invalid: list[Any] = []

    def refuse(row: Any) -> str:
        invalid.append(row)
        return "skip"

    table = pacsv.read_csv(
        pa.py_buffer(data),
        read_options=pacsv.ReadOptions(use_threads=False),  # rows are numbered only then
        parse_options=pacsv.ParseOptions(invalid_row_handler=refuse, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    problems.extend(
        Problem(
            file,
            row.number if row.number is not None else 0,
            "-",
            f"{row.actual_columns} field(s), the header has {row.expected_columns}",
        )
        for row in invalid
    )
    if problems:
        return None, problems
    return table.to_pandas(), []


def read_extract(
    folder: Path,
    *,
    encoding: Encoding | str = Encoding.UTF8,
    require_manifest: bool = False,
) -> tuple[Extract, dict[str, dict[str, object]]]:
    """The tables in ``folder`` and, per file, its sha256 and row count (for the load record).
    CSV files are read in ``encoding``; with ``require_manifest`` a folder without a
    ``manifest.json`` is refused."""
    encoding = Encoding(encoding)
    if not folder.is_dir():
        raise ExtractError([Problem(str(folder), 0, "-", "not a folder")])
    listed, problems = read_files(folder)
    if listed is None and not problems and require_manifest:
        problems.append(Problem(MANIFEST, 0, "-", "missing, and --require-manifest was given"))
    frames: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    offsets: dict[str, int] = {}
    info: dict[str, dict[str, object]] = {}
    names: dict[str, str] = {}  # table → file name, read or not
    digests: dict[str, str] = {}
    for name in TABLES:
        seen = [p for p in (folder / f"{name}.csv", folder / f"{name}.parquet") if p.exists()]
        if len(seen) > 1:
            problems.append(Problem(seen[1].name, 0, "-", f"both {name}.csv and {name}.parquet"))
            continue
        if not seen:
            continue
        path = seen[0]
        frame: pd.DataFrame | None
        try:
            if path.suffix == ".csv":
                raw = path.read_bytes()
                digest = hashlib.sha256(raw).hexdigest()
                data, trouble = _decode(raw, encoding, path.name)
                frame, more = (None, []) if trouble else _read_csv(data, path.name)
                trouble += more
                offsets[name] = 2  # the header is line 1
            else:
                digest = sha256(path)
                frame, trouble = _as_text(pd.read_parquet(path)), []
                offsets[name] = 1
        except (ValueError, OSError, pa.ArrowException) as exc:
            problems.append(Problem(path.name, 0, "-", f"cannot be read: {exc}"))
            continue
        names[name], digests[path.name] = path.name, digest
        info[path.name] = {"sha256": digest, "rows": 0 if frame is None else len(frame)}
        if frame is None:
            problems.extend(trouble)
            continue
        frame.columns = [str(c).strip() for c in frame.columns]
        frames[name] = frame.apply(lambda c: c.str.strip()).reset_index(drop=True)
        files[name] = path.name
    if listed is not None:
        found = {n: (digests[n], len(frames[t]) if t in frames else None) for t, n in names.items()}
        problems.extend(check_files(folder, listed, found))
    if problems:
        raise ExtractError(sorted(set(problems)))
    return Extract(frames=frames, files=files, header_rows=offsets), info
