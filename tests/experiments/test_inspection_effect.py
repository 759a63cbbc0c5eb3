"""The simulator's inspection effect: off, nothing changes; on, the inspected enterprises'
found hazards are rectified and their accident risk falls."""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.simulate import inspected, simulate
from experiments.world.province import InspectionEffect, Province


def _nobody(year: int, province: Province) -> np.ndarray:
    return np.array([], dtype=np.int64)


def test_an_effect_that_inspects_nobody_changes_nothing() -> None:
    plain = simulate(400, 3, seed=21)
    idle = inspected(400, 3, seed=21, effect=InspectionEffect(planner=_nobody))
    for name, table in plain.tables.items():
        pd.testing.assert_frame_equal(table, idle.tables[name])
    pd.testing.assert_frame_equal(plain.truth, idle.truth)


def test_inspected_enterprises_have_fewer_expected_accidents() -> None:
    chosen = np.arange(300)
    seen: dict[int, int] = {}

    def first_300(year: int, province: Province) -> np.ndarray:
        if year != 1:
            return np.array([], dtype=np.int64)
        seen["hidden_before"] = int(province.hidden[:, chosen].sum())
        seen["open_before"] = int(province.open[:, chosen].sum())
        return chosen

    plain = simulate(600, 3, seed=22)
    treated = inspected(600, 3, seed=22, effect=InspectionEffect(planner=first_300, seed=1))
    codes = set(plain.tables["enterprises"]["uscc"].iloc[chosen])

    def expected(world: object) -> float:
        truth = world.truth  # type: ignore[attr-defined]
        year = sorted(truth["year"].unique())[1]
        rows = truth[(truth["year"] == year) & truth["uscc"].isin(codes)]
        return float(rows["expected_accidents"].sum())

    assert seen["hidden_before"] > 0 and seen["open_before"] > 0
    assert expected(treated) < 0.97 * expected(plain)
    # the visits are on record: one inspection more per inspected enterprise that year
    more = len(treated.tables["inspections"]) - len(plain.tables["inspections"])
    assert more >= 250
