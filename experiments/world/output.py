"""Writing a world: one CSV (ISO dates, empty for missing, true/false, UTF-8) or Parquet file per
table, and ``truth.csv``. The same world always gives the same bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq


def arrow(frame: pd.DataFrame, whole_money: bool = False) -> pa.Table:
    """``frame`` as an Arrow table: dates as date32, flags as bool, text as string; with
    ``whole_money`` float columns holding only whole numbers become int64 (CSV without ".0")."""
    arrays = {}
    for name, column in frame.items():
        if pd.api.types.is_datetime64_any_dtype(column):
            array = pa.array(column, from_pandas=True).cast(pa.date32())
        elif pd.api.types.is_bool_dtype(column) or isinstance(column.dtype, pd.BooleanDtype):
            array = pa.array(column, type=pa.bool_(), from_pandas=True)
        elif pd.api.types.is_integer_dtype(column):
            array = pa.array(column, type=pa.int64(), from_pandas=True)
        elif pd.api.types.is_float_dtype(column):
            values = column.to_numpy(dtype=np.float64)
            present = ~np.isnan(values)
            if whole_money and np.all(values[present] % 1 == 0):
                array = pa.array(column.astype("Int64"), type=pa.int64(), from_pandas=True)
            else:
                array = pa.array(values, type=pa.float64(), mask=~present)
        else:
            array = pa.array(column, type=pa.string(), from_pandas=True)
        arrays[str(name)] = array
    return pa.table(arrays)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Plain cells; quotes only if some text holds a comma, quote or line break."""
    table = arrow(frame, whole_money=True)
    header = (",".join(table.column_names) + "\n").encode("utf-8")
    try:
        body = _csv_body(table, "none")  # refuses text that would need quotes
    except pa.ArrowInvalid:
        body = _csv_body(table, "needed")
    path.write_bytes(header + body)


def _csv_body(table: pa.Table, quoting: str) -> bytes:
    sink = pa.BufferOutputStream()
    options = pacsv.WriteOptions(include_header=False, quoting_style=quoting)
    pacsv.write_csv(table, sink, write_options=options)
    return sink.getvalue().to_pybytes()


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    pq.write_table(arrow(frame), path, compression="zstd")
