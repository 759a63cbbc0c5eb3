"""Laws of point-in-time features, checked with Hypothesis on generated histories:

- adding or correcting any record known after T never changes a feature as of T;
- the features of one enterprise do not depend on other enterprises;
- one pair alone equals the same pair inside a batch of thousands;
- absent optional tables make their features missing and change nothing else.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experiments.simulate import simulate
from features.catalogue import CATALOGUE
from features.contracts import INDUSTRIES, PENALTY_MEASURES, REPORTING, TABLES, VIOLATION_CATEGORIES
from features.pit import as_of
from features.store import History

USCCS = ("91350200MA31E12PXF", "91440101MA5CJQ4N59", "913502000728319549")
STRANGER = "91350203M0001QAY9B"  # in no table
DAY0 = dt.date(2018, 1, 1)
SPAN = 7 * 365
OPTIONAL = tuple(name for name, table in TABLES.items() if not table.required)
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def day(n: int) -> dt.date:
    return DAY0 + dt.timedelta(days=n)


def _row(draw: st.DrawFn, table: str, key: str, first: int) -> dict[str, object]:
    """One record of ``table`` whose natural known date is day ``first`` or later."""
    uscc = draw(st.sampled_from(USCCS))
    base = first + draw(st.integers(0, 400))
    later = st.integers(0, 300)
    maybe = st.one_of(st.none(), later)
    if table == "violations":
        return {
            "violation_id": key,
            "uscc": uscc,
            "found_on": day(base),
            "severity": draw(st.sampled_from(["general", "serious"])),
            "category": draw(st.sampled_from(list(VIOLATION_CATEGORIES))),
            "penalty_decision_id": None,
        }
    if table == "penalties":
        multiplier, fulfilled = draw(st.one_of(st.none(), st.integers(2, 5))), draw(maybe)
        return {
            "penalty_decision_id": key,
            "uscc": uscc,
            "decided_on": day(base),
            "measure": draw(st.sampled_from(PENALTY_MEASURES)),
            "amount_cny": draw(st.one_of(st.none(), st.floats(0, 1e6))),
            "fine_multiplier": multiplier,
            "fulfilled_on": None if fulfilled is None else day(base + fulfilled),
        }
    if table == "accidents":  # reported on ``base``, occurred up to a year before
        occurred = max(0, base - draw(st.integers(0, 365)))
        return {
            "accident_id": key,
            "uscc": uscc,
            "occurred_on": day(occurred),
            "reported_on": day(base),
            "deaths": draw(st.integers(0, 12)),
            "serious_injuries": draw(st.integers(0, 60)),
            "direct_loss_cny": draw(st.floats(0, 2e8)),
            "reporting": draw(st.sampled_from(REPORTING)),
            "responsible": draw(st.booleans()),
        }
    if table == "hazards":
        rectified = draw(maybe)
        return {
            "hazard_id": key,
            "uscc": uscc,
            "found_on": day(base),
            "level": draw(st.sampled_from(["general", "major"])),
            "due_on": day(base + draw(later)),
            "rectified_on": None if rectified is None else day(base + rectified),
        }
    assert table == "inspections"
    return {"inspection_id": key, "uscc": uscc, "inspected_on": day(base)}


def _enterprise(draw: st.DrawFn, uscc: str, first: int) -> dict[str, object]:
    return {
        "uscc": uscc,
        "name": "某公司",
        "industry": draw(st.sampled_from(list(INDUSTRIES))),
        "region_code": "350200",
        "employees": draw(st.integers(1, 5000)),
        "standardization_grade": draw(st.sampled_from(["1", "2", "3", None])),
        "established_on": day(first + draw(st.integers(0, 600))),
    }


@st.composite
def histories(draw: st.DrawFn) -> dict[str, pd.DataFrame]:
    """Frames for three enterprises, each optional table present or not, up to 12 rows each."""
    frames = {"enterprises": pd.DataFrame([_enterprise(draw, u, -2000) for u in USCCS])}
    for name in ("accidents", *OPTIONAL):
        if name in OPTIONAL and not draw(st.booleans()):
            continue
        n = draw(st.integers(0, 12))
        rows = [_row(draw, name, f"{name}-{i}", draw(st.integers(0, SPAN - 400))) for i in range(n)]
        frames[name] = pd.DataFrame(rows, columns=list(TABLES[name].names))
    return frames


def _pairs(t: dt.date) -> pd.DataFrame:
    return pd.DataFrame({"uscc": [*USCCS, STRANGER], "as_of": t})


@SETTINGS
@given(frames=histories(), t=st.integers(0, SPAN), data=st.data())
def test_records_known_after_t_never_change_features_as_of_t(frames, t, data):
    before = as_of(History.from_frames(frames), _pairs(day(t)))
    grown = {}
    for name, frame in frames.items():
        table = TABLES[name]
        frame = frame.assign(known_from=frame[table.known_on])
        extra = []
        if name != "enterprises":  # new records, known after t
            for i in range(data.draw(st.integers(0, 3))):
                extra.append(_row(data.draw, name, f"{name}-new-{i}", t + 1))
        for key in data.draw(
            st.lists(st.sampled_from(list(frame[table.key])), max_size=3)
            if len(frame)
            else st.just([])
        ):
            fix = (
                _enterprise(data.draw, key, -2000)
                if name == "enterprises"
                else {**_row(data.draw, name, key, 0)}
            )
            extra.append(fix)
        rows = pd.DataFrame(extra, columns=list(table.names))
        rows["known_from"] = [
            max(day(t + 1 + data.draw(st.integers(0, 50))), r[table.known_on]) for r in extra
        ]
        grown[name] = pd.concat([frame, rows], ignore_index=True) if extra else frame
    after = as_of(History.from_frames(grown), _pairs(day(t)))
    pd.testing.assert_frame_equal(before, after)


@SETTINGS
@given(frames=histories(), t=st.integers(0, SPAN), who=st.sampled_from(USCCS))
def test_features_of_one_enterprise_do_not_depend_on_others(frames, t, who):
    alone = {name: frame[frame["uscc"] == who] for name, frame in frames.items()}
    pair = pd.DataFrame({"uscc": [who], "as_of": [day(t)]})
    pd.testing.assert_frame_equal(
        as_of(History.from_frames(frames), pair), as_of(History.from_frames(alone), pair)
    )


@SETTINGS
@given(
    frames=histories(),
    t=st.integers(0, SPAN),
    dropped=st.sets(st.sampled_from(OPTIONAL), min_size=1),
)
def test_absent_optional_tables_make_only_their_features_missing(frames, t, dropped):
    full = as_of(History.from_frames(frames), _pairs(day(t)))
    fewer = as_of(
        History.from_frames({k: v for k, v in frames.items() if k not in dropped}), _pairs(day(t))
    )
    for name, feature in CATALOGUE.items():
        if feature.table in dropped:
            assert fewer[name].isna().all(), name
        else:
            pd.testing.assert_series_equal(full[name], fewer[name])


@pytest.fixture(scope="module")
def batch() -> tuple[History, pd.DataFrame, pd.DataFrame]:
    frames = simulate(1_500, 4, seed=11).tables
    history = History.from_frames(frames)
    rng = np.random.default_rng(5)
    dates = pd.to_datetime(["2020-03-31", "2022-01-01", "2024-06-30", "2025-12-31"])
    pairs = pd.DataFrame(
        {
            "uscc": rng.choice(frames["enterprises"]["uscc"].to_numpy(dtype=object), 4_000),
            "as_of": rng.choice(dates.to_numpy(), 4_000),
        }
    )
    return history, pairs, as_of(history, pairs)


@settings(max_examples=40, deadline=None)
@given(position=st.integers(0, 3_999))
def test_one_pair_alone_equals_the_same_pair_in_a_batch_of_thousands(batch, position):
    history, pairs, together = batch
    alone = as_of(history, pairs.iloc[[position]])
    pd.testing.assert_frame_equal(alone, together.iloc[[position]])
