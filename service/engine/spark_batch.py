"""Batch scores on Apache Spark (``safecredit score --engine spark``), the same answers as on
one machine.

1. Histories come from an export (:mod:`features.export`); :func:`features.spark.per_group`
   computes each group's features as of the date with :func:`features.pit.as_of`, and whether
   each enterprise had a 较大-or-graver accident in the override window
   (:func:`service.engine.decisions.grave_accidents`) — the functions the pandas engine calls.
2. ``mapInPandas`` scores every Arrow batch with the champion broadcast to the executors:
   :func:`service.engine.decisions.batch_of` (the same :func:`models.explain.explain`: probability,
   score, grade, reasons, recourse) and :func:`service.engine.decisions.frame` (overrides, columns).
3. Listings in force are read on the driver from the registry (small) and broadcast as a
   snapshot (:meth:`registry.index.RegistryIndex.snapshot`), so grades match the pandas engine.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features.export import read_export
from features.pit import FEATURE_NAMES, INDUSTRY_DTYPE
from features.pit import as_of as features_as_of
from features.spark import (
    TABLE,
    feature_fields,
    long_frame,
    per_group,
    per_group_with,
    schema_of,
)
from features.store import History
from registry.index import InForceOn
from service.engine.decisions import Scorer, batch_of, frame, grave_accidents
from service.engine.quotes import Quoter, QuoteRequest, UnknownEnterprise
from service.engine.quotes import frame as quote_frame
from service.engine.quotes import quote as quote_requests
from service.store.settings import SparkSettings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

GRAVE = "grave_accident"  # the features step's flag for the grave-accident override


def spark_session(settings: SparkSettings, *, master: str | None = None) -> SparkSession:
    """A Spark session with Arrow on and the configured partitions and memory; on a local
    master the Python workers run this interpreter (on a cluster, set ``spark.pyspark.python``
    to the executors' environment)."""
    from pyspark.sql import SparkSession

    chosen = master or settings.master
    conf: dict[str, str] = {}
    if chosen.startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # nothing listens beyond loopback
        conf.update({"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"})
    builder = SparkSession.builder.master(chosen).appName(settings.app_name)
    conf |= {
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(settings.arrow_batch_rows),
        "spark.sql.shuffle.partitions": str(settings.shuffle_partitions),
        "spark.driver.memory": settings.driver_memory,
        "spark.executor.memory": settings.executor_memory,
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": str(settings.ui).lower(),
        "spark.ui.showConsoleProgress": str(sys.stderr.isatty()).lower(),
        **settings.conf,
    }
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(settings.log_level)
    return spark


def features_step(
    spark: SparkSession, folder: Path, *, as_of: dt.date, months: int, groups: int
) -> DataFrame:
    """One row per enterprise known at ``as_of``: ``uscc``, the features (``industry`` as
    text) and the grave-accident flag, computed per group of enterprises."""
    from pyspark.sql import types as T

    long, manifest = long_frame(spark, folder, known_by=as_of)
    fields = [("uscc", "string"), *feature_fields(), (GRAVE, "boolean")]
    types = {"string": T.StringType(), "double": T.DoubleType(), "boolean": T.BooleanType()}
    schema = T.StructType([T.StructField(n, types[t]) for n, t in fields])

    def compute(history: History) -> pd.DataFrame:
        usccs = list(history.table_at("enterprises", as_of)["uscc"])
        pairs = pd.DataFrame({"uscc": usccs, "as_of": pd.Timestamp(as_of)})
        X = features_as_of(history, pairs)
        grave = grave_accidents(history, usccs, as_of, months)
        out = X.assign(industry=X["industry"].astype(object))
        out.insert(0, "uscc", usccs)
        out[GRAVE] = np.isin(np.asarray(usccs, dtype=object), list(grave))
        return out

    return per_group(long, manifest, compute, schema, groups=groups)


def features_frame(part: pd.DataFrame) -> pd.DataFrame:
    """The model's input from a features-step batch: catalogue columns, ``industry``
    categorical, a fresh index — the frame :func:`features.pit.as_of` returns."""
    X = part.loc[:, list(FEATURE_NAMES)].reset_index(drop=True)
    X["industry"] = pd.Categorical(X["industry"].astype(object), dtype=INDUSTRY_DTYPE)
    return X


def scored_frame(
    scorer: Scorer, part: pd.DataFrame, as_of: dt.date, listings: InForceOn
) -> pd.DataFrame:
    """One features-step batch scored: the rows of :func:`service.engine.decisions.frame`."""
    usccs = [str(u) for u in part["uscc"]]
    grave = {u for u, g in zip(usccs, part[GRAVE], strict=True) if g}
    batch = batch_of(
        scorer, features_frame(part), usccs=usccs, as_of=as_of, listings=listings, grave=grave
    )
    return frame(scorer, batch)


def score_spark(
    spark: SparkSession,
    scorer: Scorer,
    listings: InForceOn,
    folder: Path,
    *,
    as_of: dt.date,
    groups: int,
) -> DataFrame:
    """Every enterprise known at ``as_of`` in the export at ``folder``, scored: the columns of
    :func:`service.engine.decisions.frame`, one row per enterprise (in no particular order)."""
    months = scorer.policy.overrides.larger_accident_months
    features = features_step(spark, folder, as_of=as_of, months=months, groups=groups)
    # the output's types, from one row with every feature missing (pandas types an empty
    # frame's columns by guesswork)
    probe = pd.DataFrame({"uscc": [""], **{n: [None] for n, _ in feature_fields()}, GRAVE: False})
    probe = probe.astype({n: np.float64 for n, kind in feature_fields() if kind == "double"})
    schema = schema_of(scored_frame(scorer, probe, as_of, listings))
    shared = spark.sparkContext.broadcast((scorer, listings))

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        model, in_force = shared.value
        for part in batches:
            if len(part):
                yield scored_frame(model, part, as_of, in_force)

    return features.mapInPandas(score, schema)


REQUEST_SCHEMA = (
    "row long, uscc string, insured_amount_cny double, period_start date, as_of date, "
    "headcount long, honours string, previous_rate double"
)


def _requests(asked: pd.DataFrame) -> list[QuoteRequest]:
    def cell(value: object) -> object:
        return None if value is None or pd.isna(value) else value  # type: ignore[call-overload]

    return [
        QuoteRequest(
            uscc=str(r["uscc"]),
            insured_amount_cny=float(r["insured_amount_cny"]),
            period_start=r["period_start"],
            as_of=cell(r["as_of"]),  # type: ignore[arg-type]
            headcount=None if cell(r["headcount"]) is None else int(r["headcount"]),
            honours=str(r["honours"]),
            previous_rate=None if cell(r["previous_rate"]) is None else float(r["previous_rate"]),
        )
        for r in asked.to_dict("records")
    ]


def quotes_spark(
    spark: SparkSession,
    quoter: Quoter,
    listings: InForceOn,
    folder: Path,
    requests: list[QuoteRequest],
    *,
    groups: int,
) -> DataFrame:
    """A renewal book quoted per group of enterprises: the columns of
    :func:`service.engine.quotes.frame` after ``row`` (the request's position in the book). Raises
    :class:`UnknownEnterprise` before quoting if a code is not known as of its request."""
    from pyspark.sql import functions as F

    book = pd.DataFrame(
        {
            "row": np.arange(len(requests)),
            "uscc": [r.uscc for r in requests],
            "insured_amount_cny": [float(r.insured_amount_cny) for r in requests],
            "period_start": [r.period_start for r in requests],
            "as_of": [r.as_of for r in requests],
            "headcount": pd.array([r.headcount for r in requests], dtype="Int64"),
            "honours": [r.honours for r in requests],
            "previous_rate": [r.previous_rate for r in requests],
        }
    )
    asked = spark.createDataFrame(book.astype({"headcount": object}), REQUEST_SCHEMA)
    latest = max(r.when for r in requests)
    long, manifest = long_frame(spark, folder, known_by=latest)
    when = F.coalesce(F.col("r.as_of"), F.col("r.period_start"))
    known = long.where(F.col(TABLE) == "enterprises").select("uscc", "known_from").alias("e")
    unknown = (
        asked.alias("r")
        .join(
            known,
            (F.col("r.uscc") == F.col("e.uscc")) & (F.col("e.known_from") <= when),
            "left_anti",
        )
        .select("uscc", when.alias("when"))
        .orderBy("row")
        .limit(5)
        .collect()
    )
    if unknown:
        shown = ", ".join(f"{r['uscc']} (as of {r['when']})" for r in unknown)
        raise UnknownEnterprise(f"uscc: not a known enterprise: {shown}")

    def compute(history: History, rows: pd.DataFrame) -> pd.DataFrame:
        quotes = quote_requests(None, quoter, _requests(rows), history=history, listings=listings)
        out = quote_frame(quotes)
        out.insert(0, "row", rows["row"].to_numpy(dtype=np.int64))
        return out

    first = book.head(1)
    probe = compute(read_export(folder, usccs=[requests[0].uscc]), first)
    return per_group_with(long, manifest, asked, compute, schema_of(probe), groups=groups)
