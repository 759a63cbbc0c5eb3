"""A small simulated province and a model trained on it, shared by the model tests."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from experiments.simulate import World, simulate
from features.store import History
from features.training import as_of_grid, training_set
from models.policy import ScoringPolicy, load_policy
from models.recourse import Actions, load_actions
from models.training import Trained, fit_all, load_config

END = dt.date(2025, 12, 31)


@pytest.fixture(scope="session")
def world() -> World:
    return simulate(1500, 4, seed=5, end=END)


@pytest.fixture(scope="session")
def history(world: World) -> History:
    return History.from_frames(world.tables)


@pytest.fixture(scope="session")
def data(history: History) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    grid = as_of_grid(history, "2023-01-01", END)
    return training_set(history, grid, data_end=END)


@pytest.fixture(scope="session")
def trained(data: tuple[pd.DataFrame, pd.Series, pd.DataFrame]) -> Trained:
    X, y, meta = data
    config = dataclasses.replace(load_config(), pairs={"candidates": 2, "min_gain_auc": 1.0})
    return fit_all(X, y, meta, config, seed=3)


@pytest.fixture(scope="session")
def policy() -> ScoringPolicy:
    return load_policy()


@pytest.fixture(scope="session")
def actions() -> Actions:
    return load_actions()
