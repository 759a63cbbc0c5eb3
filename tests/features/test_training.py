"""Training sets: the as-of grid, labels over (T, T + horizon], and no look-ahead in features."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from experiments.simulate import simulate
from features.contracts import TABLES
from features.pit import as_of
from features.store import History
from features.training import as_of_grid, training_set
from tests.features.test_pit import A, B, accident, enterprise, history


def _scenario() -> History:
    return history(
        enterprises=[enterprise(A), enterprise(B, established_on="2023-02-01")],
        accidents=[
            # responsible, occurred 2023-05-01 but reported late, 2023-12-01
            accident("a1", "2023-05-01", reported_on="2023-12-01", reporting="late"),
            # not responsible, with a death
            accident("a2", "2023-08-01", uscc=B, deaths=1, responsible=False),
            accident("a3", "2024-09-30", serious_injuries=0, responsible=False),  # data end
        ],
    )


def test_grid_holds_enterprises_established_by_each_date():
    grid = as_of_grid(_scenario(), "2022-10-01", "2023-07-01")
    by_date = grid.groupby("as_of")["uscc"].apply(list)
    assert by_date[pd.Timestamp("2023-01-01")] == [A]
    assert by_date[pd.Timestamp("2023-04-01")] == sorted([A, B])
    assert len(by_date) == 4


def test_labels_look_forward_and_features_look_back_only():
    h = _scenario()
    grid = as_of_grid(h, "2022-01-01", "2024-01-01")
    X, y, meta = training_set(h, grid)
    keys = zip(meta.uscc, meta.as_of.dt.strftime("%Y-%m-%d"), strict=True)
    labelled = dict(zip(keys, y, strict=True))
    assert labelled[(A, "2022-07-01")] == 1  # (2022-07-01, 2023-07-01] holds 2023-05-01
    assert labelled[(A, "2023-04-01")] == 1
    assert labelled[(A, "2023-07-01")] == 0  # occurred before T
    assert labelled[(B, "2023-04-01")] == 0  # not responsible
    assert (A, "2023-10-01") not in labelled  # horizon ends after the data (2024-09-30)
    at = meta.index[(meta.uscc == A) & (meta.as_of == "2023-07-01")][0]
    assert X.loc[at, "acc_count_1y"] == 0  # reported only on 2023-12-01
    casualty = training_set(h, grid, label="casualty")[1]
    assert casualty[(meta.uscc == B) & (meta.as_of == "2023-04-01")].tolist() == [1]
    assert X.index.equals(y.index) and X.index.equals(meta.index)


def test_training_features_equal_features_from_what_was_known_then():
    frames = simulate(200, 4, seed=31, end=dt.date(2024, 12, 31)).tables
    h = History.from_frames(frames)
    grid = as_of_grid(h, "2021-01-01", "2024-10-01")
    X, y, meta = training_set(h, grid, horizon_months=12, data_end=dt.date(2024, 12, 31))
    assert meta.as_of.max() == pd.Timestamp("2023-10-01")
    assert 0 < y.mean() < 1
    for when in pd.to_datetime(["2021-01-01", "2023-10-01"]):
        known = {
            name: frame[frame[TABLES[name].known_on] <= when] for name, frame in frames.items()
        }
        rows = meta.as_of == when
        expected = as_of(History.from_frames(known), meta.loc[rows, ["uscc", "as_of"]])
        pd.testing.assert_frame_equal(X[rows], expected)


def test_bad_label_and_horizon_are_refused():
    h = _scenario()
    grid = as_of_grid(h, "2023-01-01", "2023-04-01")
    with pytest.raises(ValueError, match="label must be one of"):
        training_set(h, grid, label="fatal")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="horizon_months"):
        training_set(h, grid, horizon_months=0)
