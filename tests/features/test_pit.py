"""Point-in-time features on small literal scenarios: each test pins one rule of a family."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from features.catalogue import CATALOGUE, DAYS_SINCE_CAP
from features.pit import FEATURE_NAMES, PairsError, as_of
from features.store import History, HistoryError

A, B = "91350200MA31E12PXF", "91440101MA5CJQ4N59"
T = "2024-06-30"


def enterprise(uscc: str = A, **changes: object) -> dict[str, object]:
    row = {
        "uscc": uscc,
        "name": "某公司",
        "industry": "mining",
        "region_code": "140100",
        "employees": 120,
        "standardization_grade": "2",
        "established_on": "2010-01-01",
    }
    return {**row, **changes}


def accident(accident_id: str, occurred_on: str, **changes: object) -> dict[str, object]:
    row = {
        "accident_id": accident_id,
        "uscc": A,
        "occurred_on": occurred_on,
        "reported_on": occurred_on,
        "deaths": 0,
        "serious_injuries": 1,
        "direct_loss_cny": 10_000.0,
        "reporting": "on_time",
        "responsible": True,
    }
    return {**row, **changes}


def history(
    enterprises: list[dict] | None = None, accidents: list[dict] | None = None, **tables: list[dict]
) -> History:
    frames = {
        "enterprises": pd.DataFrame(enterprises or [enterprise()]),
        "accidents": pd.DataFrame(accidents or [], columns=list(accident("x", T))),
    }
    frames.update({name: pd.DataFrame(rows) for name, rows in tables.items()})
    return History.from_frames(frames)


def features(h: History, when: str = T, uscc: str = A) -> pd.Series:
    return as_of(h, pd.DataFrame({"uscc": [uscc], "as_of": [when]})).iloc[0]


def violation(
    violation_id: str, found_on: str, severity: str = "general", category: str = "management"
) -> dict[str, object]:
    return {
        "violation_id": violation_id,
        "uscc": A,
        "found_on": found_on,
        "severity": severity,
        "category": category,
        "penalty_decision_id": None,
    }


def test_violation_windows_include_as_of_and_exclude_their_start():
    h = history(
        violations=[
            violation("v1", "2024-06-30"),  # as_of itself: in
            violation("v2", "2024-04-01"),  # 90 days before as_of: (T-90, T] starts after it
            violation("v3", "2024-04-02", "serious"),
            violation("v4", "2022-01-01", "serious", "no_permit"),
            violation("v5", "2024-07-01"),  # after as_of: not known yet
        ]
    )
    f = features(h)
    assert (f.viol_general_90d, f.viol_serious_90d) == (1, 1)
    assert (f.viol_general_1y, f.viol_serious_1y) == (2, 1)
    assert (f.viol_general_3y, f.viol_serious_3y) == (2, 2)
    assert f.viol_listed_3y == 1
    assert f.viol_days_since_last == 0


def test_violation_trend_is_last_year_minus_the_year_before():
    h = history(
        violations=[
            violation("v1", "2024-01-01"),
            violation("v2", "2023-01-01"),
            violation("v3", "2023-02-01"),
            violation("v4", "2022-12-01"),
        ]
    )
    assert features(h).viol_trend_1y == 1 - 3


def test_days_since_last_is_capped_and_no_event_counts_as_the_cap():
    h = history(violations=[violation("v1", "2015-01-01")])
    assert features(h).viol_days_since_last == DAYS_SINCE_CAP
    assert (
        features(history(violations=[violation("v1", "2024-06-01")]), uscc=B)[
            "viol_days_since_last"
        ]
        == DAYS_SINCE_CAP
    )
    assert features(h).acc_days_since_last == DAYS_SINCE_CAP


def penalty(pid: str, decided_on: str, measure: str = "fine", **changes: object) -> dict:
    row = {
        "penalty_decision_id": pid,
        "uscc": A,
        "decided_on": decided_on,
        "measure": measure,
        "amount_cny": 50_000.0 if measure == "fine" else None,
        "fine_multiplier": None,
        "fulfilled_on": decided_on,
    }
    return {**row, **changes}


def test_penalties_counts_amounts_severe_and_art114():
    h = history(
        penalties=[
            penalty("p1", "2024-03-01"),
            penalty("p2", "2022-01-01", fine_multiplier=3, amount_cny=300_000.0),
            penalty("p3", "2023-05-01", fine_multiplier=2, amount_cny=200_000.0),
            penalty("p4", "2023-09-01", "permit_suspended"),
            penalty("p5", "2020-01-01", fine_multiplier=5),  # outside 3 years
        ]
    )
    f = features(h)
    assert (f.pen_count_1y, f.pen_count_3y) == (2, 4)
    assert f.pen_amount_3y == pytest.approx(550_000.0)
    assert f.pen_severe_3y == 1
    assert (f.pen_art114_3y, f.pen_art114_max_3y) == (2, 3)


def test_a_penalty_is_unfulfilled_until_carried_out_and_a_warning_never_is():
    h = history(
        penalties=[
            penalty("p1", "2024-01-01", fulfilled_on="2024-08-01"),  # carried out after as_of
            penalty("p2", "2024-01-01", fulfilled_on=None),
            penalty("p3", "2024-01-01", fulfilled_on="2024-02-01"),
            penalty("p4", "2024-01-01", "warning", fulfilled_on=None),
        ]
    )
    assert features(h).pen_unfulfilled == 2
    assert features(h, "2024-09-01").pen_unfulfilled == 1


def test_an_accident_counts_from_its_report_and_falls_in_windows_by_occurrence():
    h = history(
        accidents=[accident("a1", "2024-05-01", reported_on="2024-08-01", reporting="late")]
    )
    assert features(h).acc_count_1y == 0
    later = features(h, "2024-09-01")
    assert (later.acc_count_90d, later.acc_count_1y, later.acc_late_3y) == (0, 1, 1)
    assert (
        later.acc_days_since_last == (pd.Timestamp("2024-09-01") - pd.Timestamp("2024-05-01")).days
    )


def test_accident_grades_deaths_injuries_and_reporting():
    h = history(
        accidents=[
            accident("a1", "2024-01-01", deaths=10),  # 重大 by deaths
            accident("a2", "2023-01-01", serious_injuries=10),  # 较大 by injuries
            accident("a3", "2022-01-01", deaths=2, reporting="concealed", responsible=False),
            accident("a4", "2022-02-01", direct_loss_cny=100_000_000.0, reporting="false"),
        ]
    )
    f = features(h)
    assert (f.acc_general_3y, f.acc_larger_3y, f.acc_major_3y) == (1, 1, 2)
    assert (f.acc_deaths_3y, f.acc_injuries_3y) == (12, 13)
    assert (f.acc_concealed_3y, f.acc_false_3y, f.acc_responsible_3y) == (1, 1, 3)


def hazard(
    hid: str,
    found_on: str,
    due_on: str,
    rectified_on: str | None,
    level: str = "general",
    **changes: object,
) -> dict:
    return {
        "hazard_id": hid,
        "uscc": A,
        "found_on": found_on,
        "level": level,
        "due_on": due_on,
        "rectified_on": rectified_on,
        **changes,
    }


def test_open_and_overdue_hazards_and_mean_days_overdue():
    h = history(
        hazards=[
            hazard("h1", "2024-03-01", "2024-05-31", None, "major"),  # 30 days overdue
            hazard("h2", "2024-04-01", "2024-04-30", "2024-07-15"),  # rectified after as_of: open
            hazard("h3", "2024-06-01", "2024-08-01", None),  # open, not yet due
            hazard("h4", "2024-01-01", "2024-02-01", "2024-02-01"),  # closed
        ]
    )
    f = features(h)
    assert (f.haz_open_general, f.haz_open_major) == (2, 1)
    assert (f.haz_overdue_general, f.haz_overdue_major) == (1, 1)
    assert f.haz_overdue_days_mean == pytest.approx((30 + 61) / 2)


def test_a_rectification_known_later_does_not_rewrite_the_past():
    first = hazard("h1", "2024-01-10", "2024-02-10", None, "major", known_from="2024-01-10")
    fixed = {**first, "rectified_on": "2024-03-01", "known_from": "2024-05-01"}
    h = history(hazards=[first, fixed])
    assert features(h, "2024-04-01").haz_open_major == 1
    assert features(h, "2024-05-01").haz_open_major == 0


def test_rectification_rate_median_delay_and_repeat_major_hazards():
    h = history(
        hazards=[
            hazard("h1", "2023-09-01", "2023-10-01", "2023-09-20", "major"),  # on time
            hazard("h2", "2023-10-01", "2023-11-01", "2023-11-11", "major"),  # 10 days late
            hazard("h3", "2024-01-01", "2024-02-01", "2024-03-02", "major"),  # 30 days late
            hazard("h4", "2024-05-01", "2024-06-01", None),  # due, still open
        ]
    )
    f = features(h)
    assert f.haz_rectified_rate_1y == pytest.approx(1 / 4)
    assert (f.haz_due_1y, f.haz_late_1y) == (4, 3)  # the share's count and denominator
    assert f.haz_delay_median_1y == pytest.approx(10.0)
    assert f.haz_recurring_major_3y == 2
    assert (f.haz_found_general_1y, f.haz_found_major_1y) == (1, 3)
    none_due = features(history(hazards=[hazard("h1", "2024-06-01", "2024-09-01", None)]))
    assert (none_due.haz_rectified_rate_1y, none_due.haz_delay_median_1y) == (1.0, 0.0)
    assert (none_due.haz_due_1y, none_due.haz_late_1y) == (0, 0)


def test_context_uses_the_enterprise_version_in_force():
    grown = enterprise(employees=480, standardization_grade=None, known_from="2024-03-01")
    h = history(
        enterprises=[enterprise(known_from="2010-01-01"), grown],
        inspections=[
            {"inspection_id": "i1", "uscc": A, "inspected_on": "2024-01-01"},
            {"inspection_id": "i2", "uscc": A, "inspected_on": "2022-01-01"},
        ],
    )
    before, after = features(h, "2024-01-31"), features(h)
    assert (before.employees, before.standardization_grade) == (120, 2)
    assert (after.employees, after.standardization_grade) == (480, 4)
    assert after.industry == "mining"
    assert after.enterprise_age == pytest.approx(14.5, abs=0.01)
    assert after.insp_1y == 1


def test_an_enterprise_not_known_at_as_of_has_missing_context():
    h = history(enterprises=[enterprise(established_on="2024-01-01")])
    f = features(h, "2023-06-30")
    assert math.isnan(f.employees) and pd.isna(f.industry)
    assert f.acc_count_1y == 0


def test_absent_optional_tables_give_missing_not_zero():
    f = features(history())
    for name, feature in CATALOGUE.items():
        if feature.table in ("enterprises", "accidents"):
            assert not pd.isna(f[name]), name
        else:
            assert pd.isna(f[name]), name


def test_output_keeps_the_pairs_order_and_index_and_catalogue_columns():
    h = history(enterprises=[enterprise(), enterprise(B, employees=7)])
    pairs = pd.DataFrame(
        {"uscc": [B, A, B], "as_of": [T, "2020-01-01", "2021-01-01"]}, index=[30, 10, 20]
    )
    out = as_of(h, pairs)
    assert list(out.columns) == list(FEATURE_NAMES)
    assert list(out.index) == [30, 10, 20]
    assert list(out.employees) == [7, 120, 7]
    assert out.industry.dtype == "category"


def test_bad_pairs_and_frames_are_named():
    h = history()
    with pytest.raises(PairsError, match="as_of"):
        as_of(h, pd.DataFrame({"uscc": [A]}))
    with pytest.raises(PairsError, match="not dates"):
        as_of(h, pd.DataFrame({"uscc": [A], "as_of": ["soon"]}))
    with pytest.raises(HistoryError, match="accidents: required table is missing"):
        History.from_frames({"enterprises": pd.DataFrame([enterprise()])})
    with pytest.raises(HistoryError, match="hazards: missing column"):
        history(hazards=[{"hazard_id": "h1", "uscc": A}])


def test_small_and_large_input_paths_agree(monkeypatch: pytest.MonkeyPatch):
    """Small histories (the online path) take plain-Python shortcuts; both paths agree."""
    import features.families.accidents
    import features.store
    import features.versions
    from experiments.simulate import simulate

    frames = simulate(300, 6, seed=9).tables
    pairs = pd.DataFrame(
        {"uscc": frames["enterprises"]["uscc"], "as_of": pd.Timestamp("2024-03-31")}
    )
    small = as_of(History.from_frames(frames), pairs)
    for module in (features.versions, features.store, features.families.accidents):
        monkeypatch.setattr(module, "SMALL", 0)
    large = as_of(History.from_frames(frames), pairs)
    pd.testing.assert_frame_equal(small, large)
    assert small["acc_count_1y"].sum() > 0 and small["haz_open_major"].sum() > 0
