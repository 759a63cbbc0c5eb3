"""Fixtures for the Spark engine: one ``local[2]`` session for the whole run, and the simulated
province (the shared ``world``) in a SQLite store with one listing published, exported once.
Both engines read the same store: pandas from the database, Spark from the export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from experiments.simulate import World, write_world
from features.catalogue import CATALOGUE_VERSION
from features.contracts import TABLES
from features.export import write_export
from features.ingest import ingest
from features.store import stream_versions
from models.champion import Loaded
from models.policy import ScoringPolicy
from models.recourse import Actions
from models.training import Trained
from service.engine.decisions import Scorer
from service.store.db import make_engine, upgrade
from service.store.settings import SparkSettings
from tests.service.conftest import PUBLISHED, publish_first

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

END = dt.date(2025, 12, 31)
AS_OF = dt.date(2026, 3, 31)  # the listing is in force
SETTINGS = SparkSettings(master="local[2]", shuffle_partitions=4, groups=8, driver_memory="2g")


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    from service.engine.spark_batch import spark_session

    session = spark_session(SETTINGS)
    yield session
    session.stop()


@dataclass(frozen=True)
class Store:
    engine: Engine
    url: str
    export: Path
    listed: str  # the USCC with a published entry


@pytest.fixture(scope="session")
def store(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    folder = tmp_path_factory.mktemp("spark-province")
    write_world(world, folder, "csv")
    url = f"sqlite:///{tmp_path_factory.mktemp('spark-db') / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session, session.begin():
        ingest(session, folder, known_on=END)
        proposal, _ = publish_first(session, on=PUBLISHED)
    export = tmp_path_factory.mktemp("spark-export") / "history"
    with Session(engine) as session:
        write_export(
            export, {n: stream_versions(session, n, rows=7_000) for n in TABLES}, buckets=16
        )
    yield Store(engine, url, export, proposal.uscc)
    engine.dispose()


@pytest.fixture(scope="session")
def scorer(trained: Trained, policy: ScoringPolicy, actions: Actions) -> Scorer:
    loaded = Loaded(trained.model, "safecredit-risk", "test", "-")
    return Scorer(loaded, policy, actions, CATALOGUE_VERSION)


def assert_same(pandas: pd.DataFrame, spark: pd.DataFrame, key: str = "uscc") -> None:
    """The same rows (matched on ``key``), the same columns in the same order, every cell
    equal: text, dates and whole numbers exactly; fractions to 1e-12 relative (NaN where NaN),
    since numpy's vectorised exp and log may round the last bit differently in batches of
    other sizes."""
    assert list(spark.columns) == list(pandas.columns)
    a = pandas.sort_values(key, kind="stable").reset_index(drop=True)
    b = spark.sort_values(key, kind="stable").reset_index(drop=True)
    assert len(a) == len(b) and a[key].tolist() == b[key].tolist()
    for column in a.columns:
        x, y = a[column], b[column]
        if pd.api.types.is_float_dtype(x.dtype):
            expected = x.to_numpy(dtype=np.float64)
            got = y.to_numpy(dtype=np.float64)
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0, err_msg=column)
        else:
            left = [None if pd.isna(v) else v for v in x.astype(object)]
            right = [None if pd.isna(v) else v for v in y.astype(object)]
            assert left == right, column
