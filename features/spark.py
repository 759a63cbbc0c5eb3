"""Histories on Apache Spark: an export (:mod:`features.export`) read as one long frame, and any
function of a :class:`~features.store.History` applied per group of enterprises with
``groupBy(...).applyInPandas`` — the same point-in-time feature functions as on one machine.

The long frame holds every table's rows, one table after another: the union of the tables'
columns (a column absent from a table is null there) and :data:`TABLE` naming the table. A group
gets all rows of its enterprises from every table and rebuilds their history with
:meth:`History.from_frames` — rows in ``version_id`` order, as :func:`~features.store.read_history`
reads them — so each enterprise's features come from exactly the rows and the versions they come
from in the store. A group holds one enterprise (``groups=0``, ``groupBy("uscc")``) or every
enterprise whose ``crc32(uscc) mod groups`` is the group's number: one pandas call per group, the
vectorised families over thousands of enterprises at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import reduce
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.contracts import TABLES, Kind
from features.export import Manifest, read_manifest
from features.pit import FEATURE_NAMES
from features.store import VERSION_COLUMNS, History

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import DataType, StructType

TABLE = "_table"  # which table a row of the long frame belongs to
GROUP = "_group"  # the grouping key


def long_frame(
    spark: SparkSession, folder: Path, *, known_by: dt.date | None = None
) -> tuple[DataFrame, Manifest]:
    """Every version in the export at ``folder`` as one frame (and the export's manifest);
    with ``known_by``, only the versions known by then (all an as-of date can use)."""
    from pyspark.sql import functions as F

    manifest = read_manifest(folder)
    parts = []
    for name in manifest.tables:
        columns = [*TABLES[name].names, *VERSION_COLUMNS]
        dates = {c.name for c in TABLES[name].columns if c.kind is Kind.DATE} | {"known_from"}
        # dates as timestamps: they reach pandas as datetime64 arrays, not date objects
        part = spark.read.parquet(str(Path(folder) / name)).select(
            *(F.col(c).cast("timestamp_ntz").alias(c) if c in dates else F.col(c) for c in columns)
        )
        if known_by is not None:
            part = part.where(F.col("known_from") <= F.lit(known_by))
        parts.append(part.withColumn(TABLE, F.lit(name)))
    union = reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), parts)
    return union, manifest


def group_key(groups: int) -> Any:
    """The grouping column: the USCC itself (``groups=0``) or ``crc32(uscc) mod groups``."""
    from pyspark.sql import functions as F

    if groups < 0:
        raise ValueError(f"groups must be 0 (one per enterprise) or more, got {groups}")
    if groups == 0:
        return F.col("uscc")
    return F.pmod(F.crc32(F.col("uscc").cast("binary")), F.lit(groups))


def history_of(rows: pd.DataFrame, tables: Sequence[str]) -> History:
    """One group's rows of the long frame as a history of ``tables`` (those the export holds:
    each present, perhaps empty), versions in ``version_id`` order."""
    names = np.asarray(rows[TABLE], dtype=object)
    cells = {c: rows[c].to_numpy() for c in rows.columns}
    columns = {}
    for name in tables:
        at = np.flatnonzero(names == name)
        at = at[np.argsort(cells["version_id"][at], kind="stable")]
        columns[name] = {c: cells[c][at] for c in (*TABLES[name].names, *VERSION_COLUMNS)}
    return History.from_columns(columns)


def per_group(
    long: DataFrame,
    manifest: Manifest,
    fn: Callable[[History], pd.DataFrame],
    schema: StructType,
    *,
    groups: int,
) -> DataFrame:
    """``fn(history)`` for each group of enterprises, rows out in ``schema``."""
    tables = manifest.tables

    def run(rows: pd.DataFrame) -> pd.DataFrame:
        return fn(history_of(rows, tables))

    keyed = long.withColumn(GROUP, group_key(groups))
    return keyed.groupBy(GROUP).applyInPandas(run, schema)


def per_group_with(
    long: DataFrame,
    manifest: Manifest,
    other: DataFrame,
    fn: Callable[[History, pd.DataFrame], pd.DataFrame],
    schema: StructType,
    *,
    groups: int,
) -> DataFrame:
    """``fn(history, other_rows)`` for each group: ``other`` (with a ``uscc`` column) cogrouped
    with the histories of the same enterprises; groups with no ``other`` rows are skipped."""
    tables = manifest.tables

    def run(rows: pd.DataFrame, asked: pd.DataFrame) -> pd.DataFrame:
        if not len(asked):
            return pd.DataFrame({f.name: pd.Series([], dtype=object) for f in schema.fields})
        return fn(history_of(rows, tables), asked)

    key = group_key(groups)
    left = long.withColumn(GROUP, key).groupBy(GROUP)
    right = other.withColumn(GROUP, key).groupBy(GROUP)
    return left.cogroup(right).applyInPandas(run, schema)


def feature_fields() -> list[tuple[str, str]]:
    """(name, Spark type) of the feature columns: ``industry`` as text, the others double."""
    return [(n, "string" if n == "industry" else "double") for n in FEATURE_NAMES]


def spark_type(name: str, dtype: Any) -> DataType:
    """The Spark type of a pandas column: dates (``as_of`` and ``*_on``/``period_*`` columns
    of objects) as DateType, numbers and flags as themselves, anything else text."""
    from pyspark.sql import types as T

    if pd.api.types.is_bool_dtype(dtype):
        return T.BooleanType()
    if pd.api.types.is_integer_dtype(dtype):
        return T.LongType()
    if pd.api.types.is_float_dtype(dtype):
        return T.DoubleType()
    if pd.api.types.is_datetime64_dtype(dtype) or name in ("as_of", "period_start"):
        return T.DateType()
    return T.StringType()


def schema_of(frame: pd.DataFrame) -> StructType:
    """The Spark schema of a pandas frame's columns (see :func:`spark_type`)."""
    from pyspark.sql import types as T

    return T.StructType(
        [T.StructField(str(c), spark_type(str(c), frame[c].dtype)) for c in frame.columns]
    )
