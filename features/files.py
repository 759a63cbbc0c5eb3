"""Tables for people: one writer that picks the file's format by its extension.

=============  ==================================================================================
``.csv``       UTF-8 with a byte-order mark, so Excel reads the Chinese text without guessing
``.xlsx``      Excel's own format (openpyxl)
``.json``      a list of records, UTF-8, Chinese as is (not ``\\uXXXX``)
``.parquet``   pyarrow, the values as they are, for programs
=============  ==================================================================================

In ``.csv`` and ``.xlsx`` a text cell that a spreadsheet would take for a formula — one starting
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return — is neutralised (OWASP's advice
against CSV injection): in a CSV it gets a leading ``'``; in a workbook it is stored as text with
Excel's quote prefix (as if typed after a ``'``), its value unchanged. Numbers are never touched,
so a negative number stays a number. Any other extension is refused (:class:`FileFormatError`).

A file is written beside its target and renamed into place, so nobody opens half of one.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FORMATS = (".csv", ".xlsx", ".json", ".parquet")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_576  # a worksheet's rows, the header included


class FileFormatError(ValueError):
    """A path whose extension names no format a table is written in, or a table too big for it."""


def table_format(path: Path | str) -> str:
    """The format of ``path`` by its extension (``.csv``, ``.xlsx``, ``.json``, ``.parquet``)."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        shown = f"unknown extension {suffix!r}" if suffix else "no extension"
        raise FileFormatError(f"{path}: {shown}; the extensions allowed are {', '.join(FORMATS)}")
    return suffix


def neutralise(value: Any) -> Any:
    """``value`` as a spreadsheet shows it and never runs it: text that looks like a formula
    gets a leading ``'``; anything else (numbers included) is returned as is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def looks_like_formula(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def write_table(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write ``frame`` (its columns, not its index) to ``path`` in the format its extension
    names; the folder is made if needed, an existing file replaced. Returns the path."""
    path = Path(path)
    writer = _WRITERS[table_format(path)]
    if path.suffix.lower() == ".xlsx" and len(frame) + 1 > XLSX_MAX_ROWS:
        raise FileFormatError(
            f"{path}: {len(frame):,} rows do not fit a worksheet ({XLSX_MAX_ROWS - 1:,} at most); "
            "write .csv or .parquet"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}{path.suffix}")
    try:
        writer(frame, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def _plain(value: Any) -> Any:
    """A cell as JSON or a workbook holds it: Python numbers, ISO dates, lists and dicts kept."""
    if _is_missing(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime | dt.date):
        if isinstance(value, dt.datetime) and value.time() == dt.time(0) and not value.tzinfo:
            return value.date().isoformat()
        return value.isoformat()
    return value


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    safe = frame.copy()
    for name in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[name]):
            safe[name] = safe[name].astype(object).map(neutralise)
    safe.columns = [neutralise(str(c)) for c in safe.columns]
    safe.to_csv(path, index=False, encoding="utf-8-sig")


def _write_json(frame: pd.DataFrame, path: Path) -> None:
    records = [
        {str(k): _plain(v) for k, v in zip(frame.columns, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]
    text = json.dumps(records, ensure_ascii=False, indent=1, default=str)
    path.write_text(text + "\n", encoding="utf-8")


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    frame.to_parquet(path, index=False)


def _xlsx_value(value: Any) -> Any:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if _is_missing(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.isoformat()  # a workbook has no time zones: keep the offset as text
    if isinstance(value, bool | int | float | dt.date | dt.time | dt.timedelta):
        return value
    if isinstance(value, list | tuple | dict):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value))


def _write_xlsx(frame: pd.DataFrame, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.cell.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet()

    def cell(value: Any) -> Any:
        value = _xlsx_value(value)
        if not looks_like_formula(value):
            return value
        text = WriteOnlyCell(sheet, value=value)
        text.data_type = "s"  # openpyxl would store "=…" as a formula
        text.quotePrefix = True  # shown as text, as if typed after a '
        return text

    sheet.append([cell(str(c)) for c in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        sheet.append([cell(v) for v in row])
    book.save(path)


_WRITERS: dict[str, Callable[[pd.DataFrame, Path], None]] = {
    ".csv": _write_csv,
    ".xlsx": _write_xlsx,
    ".json": _write_json,
    ".parquet": _write_parquet,
}
