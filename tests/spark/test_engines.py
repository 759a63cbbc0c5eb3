"""The Spark engine gives the pandas engine's answers on the same data: probabilities, scores,
grades, overrides, reasons and recourse, cell for cell — with groups of enterprises or one
enterprise per group, with a skewed enterprise, with more partitions than enterprises."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from experiments.simulate import World
from features.export import versioned, write_export
from features.store import History
from registry.index import InForceOn, index_for
from service.engine.decisions import Scorer, frame, score_batch
from service.engine.spark_batch import score_spark
from tests.spark.conftest import AS_OF, Store, assert_same

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

NOTHING_LISTED = InForceOn({AS_OF: {}})


def _pandas(store: Store, scorer: Scorer, as_of: dt.date) -> pd.DataFrame:
    with Session(store.engine) as session:
        return frame(scorer, score_batch(session, scorer, as_of=as_of))


def _spark(
    spark: SparkSession, store: Store, scorer: Scorer, as_of: dt.date, groups: int
) -> pd.DataFrame:
    with Session(store.engine) as session:
        listings = index_for(session).snapshot([as_of])
    table = score_spark(spark, scorer, listings, store.export, as_of=as_of, groups=groups)
    return table.toPandas()


@pytest.mark.parametrize("as_of", [AS_OF, dt.date(2024, 6, 30)], ids=["listing", "earlier"])
def test_spark_scores_equal_pandas_scores(
    spark: SparkSession, store: Store, scorer: Scorer, as_of: dt.date
) -> None:
    if as_of == AS_OF:
        # both overrides exercised: the conduct score already grades the province's grave
        # accidents C or worse, so here the cap is D, where it bites
        rules = scorer.policy.overrides.model_copy(update={"larger_accident_cap": "D"})
        policy = scorer.policy.model_copy(update={"overrides": rules})
        scorer = dataclasses.replace(scorer, policy=policy)
    pandas = _pandas(store, scorer, as_of)
    spark_rows = _spark(spark, store, scorer, as_of, groups=8)
    assert_same(pandas, spark_rows)
    assert pandas["reason1_feature"].ne("").any() and pandas["recourse1_action"].ne("").any()
    if as_of == AS_OF:  # both overrides are exercised
        listed = spark_rows.loc[spark_rows["uscc"] == store.listed].iloc[0]
        assert listed["grade"] == "D" and "listed" in listed["overrides"]
        assert spark_rows["overrides"].str.contains("grave_accident").any()


def _subset(world: World, count: int, *, skip: set[str] = frozenset()) -> dict[str, pd.DataFrame]:
    """The province's tables for its first ``count`` enterprises not in ``skip``."""
    codes = [u for u in world.tables["enterprises"]["uscc"] if u not in skip][:count]
    return {n: t[t["uscc"].isin(codes)].reset_index(drop=True) for n, t in world.tables.items()}


def _moved(
    province: dict[str, pd.DataFrame], factor: int
) -> tuple[dict[str, pd.DataFrame], str, float]:
    """The province with the events of other enterprises moved onto one median enterprise until
    it has ``factor`` times the median history; (tables, its code, the median)."""
    events = [name for name in province if name != "enterprises"]
    per = pd.concat([province[n]["uscc"] for n in events]).value_counts()
    median = float(per.median())
    target = str(per.index[len(per) // 2])
    donors, total = [], per[target]
    for code, count in per.items():
        if total >= factor * median:
            break
        if code != target:
            donors.append(code)
            total += count
    tables = {}
    for name, table in province.items():
        if name == "enterprises":
            tables[name] = table
        else:
            tables[name] = table.assign(
                uscc=table["uscc"].where(~table["uscc"].isin(donors), target)
            )
    return tables, target, median


def _both(
    spark: SparkSession, scorer: Scorer, tables: dict[str, pd.DataFrame], folder: Path, **kw: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    history = History.from_frames(tables)
    batch = score_batch(None, scorer, as_of=AS_OF, history=history, listings=NOTHING_LISTED)
    write_export(folder, versioned(tables), buckets=kw.pop("buckets"))
    scored = score_spark(spark, scorer, NOTHING_LISTED, folder, as_of=AS_OF, groups=kw["groups"])
    return frame(scorer, batch), scored.toPandas()


@pytest.mark.parametrize("groups", [4, 0], ids=["in-a-group", "groupby-uscc"])
def test_an_enterprise_with_100_times_the_median_history(
    spark: SparkSession, world: World, scorer: Scorer, tmp_path: Path, groups: int
) -> None:
    """Hashed into a group with others, or alone in its group as ``groupBy("uscc")`` puts every
    enterprise."""
    tables, target, median = _moved(_subset(world, 200), 100)
    rows = sum(int((t["uscc"] == target).sum()) for t in tables.values())
    assert rows >= 100 * median
    pandas, spark_rows = _both(spark, scorer, tables, tmp_path, buckets=8, groups=groups)
    assert_same(pandas, spark_rows)
    assert target in set(spark_rows["uscc"])


@pytest.fixture
def many_partitions(spark: SparkSession) -> Iterator[None]:
    """More shuffle partitions than enterprises, none coalesced: most partitions are empty."""
    keys = ("spark.sql.shuffle.partitions", "spark.sql.adaptive.enabled")
    before = {k: spark.conf.get(k) for k in keys}
    spark.conf.set("spark.sql.shuffle.partitions", "24")
    spark.conf.set("spark.sql.adaptive.enabled", "false")
    yield
    for k, v in before.items():
        spark.conf.set(k, v)


def test_more_buckets_and_partitions_than_enterprises(
    spark: SparkSession, world: World, scorer: Scorer, tmp_path: Path, many_partitions: None
) -> None:
    tables = _subset(world, 12, skip=set(world.tables["accidents"]["uscc"]))
    assert not len(tables["accidents"])  # a required table, present and empty
    pandas, spark_rows = _both(spark, scorer, tables, tmp_path / "few", buckets=64, groups=64)
    assert_same(pandas, spark_rows)
    assert len(spark_rows) == 12
    assert len(list((tmp_path / "few" / "enterprises").iterdir())) <= 12  # most buckets empty
