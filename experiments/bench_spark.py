"""Batch scoring on one machine (pandas) next to Apache Spark ``local[1]`` and ``local[2]``, on
the same exported province, side by side in one run (``make bench``, or alone:
``uv run python -m experiments.bench_spark --enterprises 1000000``).

- throughput of the whole batch (read the export, features, score, grade, reasons, recourse,
  overrides, write Parquet) in enterprises/s and events/s, at a large size and at small sizes,
  to find where Spark stops costing more than it brings;
- Spark's fixed costs: starting the session, and the first query (Python workers importing
  the project);
- the scoring step alone: the champion broadcast to ``mapInPandas`` against
  ``mlflow.pyfunc.spark_udf`` (probability only, like for like), and the full explanation;
- grouping: a group per hash bucket of enterprises against ``groupBy("uscc")``.

The province is simulated in blocks of 100,000 enterprises (seeds 100, 101, …; identifiers
prefixed per block so they stay unique) and written straight to the export layout, never
held whole in memory.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.simulate import simulate
from features.catalogue import CATALOGUE_VERSION
from features.contracts import TABLES
from features.export import read_export, versioned, write_export
from features.pit import FEATURE_NAMES
from features.store import History
from features.training import as_of_grid, training_set
from models.champion import Loaded
from models.policy import load_policy
from models.recourse import load_actions
from models.training import fit_all, load_config
from registry.index import InForceOn
from service.engine.decisions import Scorer, frame, score_batch
from service.store.settings import SparkSettings

END = dt.date(2025, 12, 31)
AS_OF = dt.date(2026, 3, 31)
BLOCK = 100_000  # enterprises simulated at once
NOTHING_LISTED = InForceOn({AS_OF: {}})
REFERENCES = ("penalty_decision_id", "inspection_id")


def _timed(f: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = f()
    return time.perf_counter() - start, out


def _scorer() -> Scorer:
    world = simulate(5_000, 5, seed=13, end=END)
    history = History.from_frames(world.tables)
    X, y, meta = training_set(history, as_of_grid(history, "2022-01-01", END), data_end=END)
    config = dataclasses.replace(load_config(), pairs={"candidates": 0, "min_gain_auc": 1.0})
    model = fit_all(X, y, meta, config).model
    return Scorer(
        Loaded(model, "bench", "1", "-"), load_policy(), load_actions(), CATALOGUE_VERSION
    )


def _blocks(enterprises: int, folder: Path) -> dict[str, list[Path]]:
    """Simulate ``enterprises`` in blocks; each block's tables as Parquet files under
    ``folder``, identifiers prefixed by the block's number; duplicate codes dropped."""
    files: dict[str, list[Path]] = {name: [] for name in TABLES}
    seen: set[str] = set()
    for k, first in enumerate(range(0, enterprises, BLOCK)):
        world = simulate(min(BLOCK, enterprises - first), 5, seed=100 + k, end=END)
        codes = world.tables["enterprises"]["uscc"]
        clash = set(codes) & seen
        seen |= set(codes)
        for name, table in versioned(world.tables).items():
            frame_ = table[0]
            assert isinstance(frame_, pd.DataFrame)
            frame_ = frame_[~frame_["uscc"].isin(clash)]
            for column in {TABLES[name].key, *REFERENCES} & set(frame_.columns) - {"uscc"}:
                cells = frame_[column]
                frame_ = frame_.assign(
                    **{column: (f"b{k:03d}-" + cells.astype(str)).where(cells.notna())}
                )
            frame_ = frame_.assign(version_id=frame_["version_id"] + k * 10**9)
            path = folder / f"{name}-{k:03d}.parquet"
            frame_.to_parquet(path, index=False)
            files[name].append(path)
        del world
        gc.collect()
    return files


def _export(enterprises: int, work: Path) -> tuple[Path, int]:
    """The export of a province of ``enterprises``; (folder, events)."""
    raw = work / f"raw-{enterprises}"
    raw.mkdir()
    files = _blocks(enterprises, raw)

    def read(paths: list[Path]) -> Iterator[pd.DataFrame]:
        for path in paths:
            yield pd.read_parquet(path)

    folder = work / f"export-{enterprises}"
    manifest = write_export(folder, {n: read(p) for n, p in files.items()}, buckets=64)
    shutil.rmtree(raw)
    return folder, sum(rows for name, rows in manifest.rows.items() if name != "enterprises")


def _pandas(scorer: Scorer, folder: Path, out: Path) -> float:
    def run() -> int:
        history = read_export(folder)
        batch = score_batch(None, scorer, as_of=AS_OF, history=history, listings=NOTHING_LISTED)
        table = frame(scorer, batch)
        table.to_parquet(out, index=False)
        return len(table)

    seconds, _ = _timed(run)
    return seconds


def _spark(spark: Any, scorer: Scorer, folder: Path, out: Path, groups: int = 64) -> float:
    from service.engine.spark_batch import score_spark

    def run() -> None:
        table = score_spark(spark, scorer, NOTHING_LISTED, folder, as_of=AS_OF, groups=groups)
        table.write.mode("overwrite").parquet(str(out))

    seconds, _ = _timed(run)
    return seconds


def _session(master: str) -> tuple[Any, float]:
    from service.engine.spark_batch import spark_session

    settings = SparkSettings(master=master, driver_memory="8g", shuffle_partitions=64, groups=64)
    return _timed(lambda: spark_session(settings, master=master))[::-1]  # type: ignore[return-value]


def _rate(n: int, events: int, seconds: float) -> str:
    return f"{seconds:,.1f} s = {n / seconds:,.0f} enterprises/s, {events / seconds:,.0f} events/s"


def _scoring_step(spark: Any, scorer: Scorer, folder: Path, work: Path) -> list[tuple[str, str]]:
    """The features of ``folder`` materialised once, then scored three ways."""
    import mlflow
    from mlflow.models import infer_signature
    from pyspark.sql import functions as F

    from models.tracking import RiskPyfunc, use
    from service.engine.spark_batch import features_frame, features_step, scored_frame

    features_step(spark, folder, as_of=AS_OF, months=12, groups=64).write.mode("overwrite").parquet(
        str(work / "features")
    )
    features = spark.read.parquet(str(work / "features"))
    n = features.count()
    shared = spark.sparkContext.broadcast(scorer)

    def probability(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        model = shared.value.loaded.model
        for part in batches:
            p = model.predict_proba(features_frame(part)) if len(part) else np.empty(0)
            yield pd.DataFrame({"uscc": part["uscc"], "probability": p})

    def full(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for part in batches:
            if len(part):
                yield scored_frame(shared.value, part, AS_OF, NOTHING_LISTED)[
                    ["uscc", "probability"]
                ]

    use(f"sqlite:///{work / 'mlflow.db'}", work / "artifacts", "bench-spark")
    sample = features.limit(5).toPandas()
    example = features_frame(sample).astype({"industry": str})
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=RiskPyfunc(scorer.loaded.model),
            signature=infer_signature(
                example, RiskPyfunc(scorer.loaded.model).predict(None, example)
            ),
            pip_requirements=["lightgbm"],
        )
    udf = mlflow.pyfunc.spark_udf(spark, info.model_uri, result_type="double", env_manager="local")
    columns = [F.col(c) for c in FEATURE_NAMES]
    schema = "uscc string, probability double"

    def noop(df: Any) -> float:
        return _timed(lambda: df.write.format("noop").mode("overwrite").save())[0]

    broadcast = noop(features.mapInPandas(probability, schema))
    via_udf = noop(features.select("uscc", udf(F.struct(*columns)).alias("probability")))
    explained = noop(features.mapInPandas(full, schema))
    return [
        ("spark scoring step: rows", f"{n:,} feature rows, local[2]"),
        (
            "spark scoring: broadcast model, mapInPandas (probability)",
            f"{broadcast:.1f} s = {n / broadcast:,.0f} rows/s",
        ),
        (
            "spark scoring: mlflow.pyfunc.spark_udf (probability)",
            f"{via_udf:.1f} s = {n / via_udf:,.0f} rows/s",
        ),
        (
            "spark scoring: broadcast, with reasons + recourse",
            f"{explained:.1f} s = {n / explained:,.0f} rows/s",
        ),
    ]


class Rows(list[tuple[str, str]]):
    """The figures, each also printed to stderr as it is measured (long runs show progress)."""

    def append(self, row: tuple[str, str]) -> None:
        print(f"  {row[0]}: {row[1]}", file=sys.stderr, flush=True)
        super().append(row)


def run(
    enterprises: int = 1_000_000, small: tuple[int, ...] = (1_000, 10_000, 100_000)
) -> list[tuple[str, str]]:
    rows = Rows()
    work = Path(tempfile.mkdtemp(prefix="bench-spark-"))
    try:
        scorer = _scorer()
        sizes = sorted({*small, enterprises})
        exports = {}
        for n in sizes:
            seconds, (folder, events) = _timed(lambda n=n: _export(n, work))
            exports[n] = (folder, events)
            rows.append(
                (
                    f"export: {n:,} enterprises",
                    f"{events:,} events, simulated + written in {seconds:,.0f} s",
                )
            )
        pandas = {}
        for n in sizes:
            folder, events = exports[n]
            pandas[n] = _pandas(scorer, folder, work / f"pandas-{n}.parquet")
            gc.collect()
            rows.append((f"pandas: {n:,} enterprises", _rate(n, events, pandas[n])))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        rows.append(("pandas: peak RSS (process)", f"{rss:.1f} GiB"))
        for master in ("local[1]", "local[2]"):
            spark, started = _session(master)
            first = _spark(spark, scorer, exports[sizes[0]][0], work / "warm.parquet")
            rows.append(
                (
                    f"spark {master}: session start / first query ({sizes[0]:,})",
                    f"{started:.1f} s / {first:.1f} s",
                )
            )
            for n in sizes:
                folder, events = exports[n]
                seconds = _spark(spark, scorer, folder, work / f"spark-{n}.parquet")
                rows.append(
                    (
                        f"spark {master}: {n:,} enterprises",
                        _rate(n, events, seconds) + f" ({seconds / pandas[n]:.1f}× pandas)",
                    )
                )
            if master == "local[2]":
                mid = sizes[0]
                folder, events = exports[mid]
                per = _spark(spark, scorer, folder, work / "per-uscc.parquet", groups=0)
                rows.append(
                    (
                        f'spark local[2]: groupBy("uscc"), {mid:,} enterprises',
                        _rate(mid, events, per),
                    )
                )
                same = pd.read_parquet(work / f"spark-{mid}.parquet").sort_values("uscc")
                mine = pd.read_parquet(work / f"pandas-{mid}.parquet").sort_values("uscc")
                assert same["score"].tolist() == mine["score"].tolist()
                step = max([n for n in sizes if n <= 100_000] or sizes[:1])
                for row in _scoring_step(spark, scorer, exports[step][0], work):
                    rows.append(row)
            spark.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--enterprises", type=int, default=1_000_000, help="the large province")
    parser.add_argument("--small", default="1000,10000,100000", help="small sizes, comma-separated")
    args = parser.parse_args()
    small = tuple(int(s) for s in args.small.split(",") if s)
    rows = run(args.enterprises, small)
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
