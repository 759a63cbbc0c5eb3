"""The monitor's numbers on cases small enough to work out by hand: Wilson intervals, PSI, AUC
and KS, rates by grade and score band, the migration matrix, loss ratios and the breaches."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pandas as pd
import pytest

from models.monitor.html import render
from models.monitor.policy import MonitorPolicy, load_monitor_policy
from models.monitor.report import Inputs, build
from models.monitor.stats import auc_ks, migration, psi, score_band, tariff_band, wilson
from models.policy import PolicyFileError


def test_wilson_interval_of_two_in_ten() -> None:
    lo, hi = wilson(2, 10, 0.95)
    assert lo == pytest.approx(0.05668, abs=1e-5)
    assert hi == pytest.approx(0.50984, abs=1e-5)
    assert wilson(0, 10)[0] == 0.0 and all(math.isnan(v) for v in wilson(0, 0))


def test_psi_by_hand() -> None:
    # reference halves at 1 and 2 (edge 1.5); the current has a quarter at 1, three at 2
    by_hand = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert by_hand == pytest.approx(0.274653, abs=1e-6)
    numbers = psi(pd.Series([1.0, 1, 2, 2]), pd.Series([1.0, 2, 2, 2]), bins=2)
    assert numbers == pytest.approx(by_hand, rel=1e-9)
    words = psi(pd.Series(list("aabb")), pd.Series(list("abbb")))
    assert words == pytest.approx(by_hand, rel=1e-9)
    assert psi(pd.Series([1.0, 2, 3]), pd.Series([1.0, 2, 3]), bins=3) == 0.0
    # an empty reference bin counts as epsilon; a missing value is a bin of its own
    eps = 1e-4
    empty = psi(pd.Series(list("aa")), pd.Series(list("ab")), epsilon=eps)
    assert empty == pytest.approx((0.5 - 1) * math.log(0.5) + (0.5 - eps) * math.log(0.5 / eps))
    missing = psi(pd.Series([1.0, 1.0]), pd.Series([1.0, float("nan")]), bins=2, epsilon=eps)
    assert missing == pytest.approx(empty)
    nullable = psi(pd.Series([1, 1], dtype="Int64"), pd.Series([1, None], dtype="Int64"), bins=2)
    assert nullable == pytest.approx(empty)


def test_auc_and_ks_by_hand() -> None:
    # pairs (bad, good): (0.35, 0.1) right, (0.35, 0.4) wrong, (0.8, ·) right: AUC 3/4
    auc, ks = auc_ks([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert auc == pytest.approx(0.75) and ks == pytest.approx(0.5)
    assert all(math.isnan(v) for v in auc_ks([0, 0], [0.1, 0.2]))


def test_bands_and_migration() -> None:
    assert list(score_band([600, 649, 650, 0], 50)) == ["600–649", "600–649", "650–699", "0–49"]
    assert list(tariff_band([0.5, 0.79, 1.0, 1.5], (0.5, 0.8, 1.0, 1.25, 1.5))) == [
        "[0.5, 0.8)",
        "[0.5, 0.8)",
        "[1, 1.25)",
        "[1.25, 1.5]",
    ]
    before = pd.Series({"x": "A", "y": "B", "z": "B", "w": "D"})
    after = pd.Series({"x": "A", "y": "C", "z": "B", "v": "A"})  # w left, v is new
    table = migration(before, after)
    assert table.loc["A", "A"] == 1 and table.loc["B", "C"] == 1 and table.loc["B", "B"] == 1
    assert int(table.to_numpy().sum()) == 3


def _case() -> Inputs:
    """Two books of ten enterprises: grade A has 1 accident in 10, grade D 6 in 10."""
    rows = []
    for book in ("2023-01-01", "2023-04-01"):
        for i in range(5):
            rows.append(
                {
                    "book": book,
                    "uscc": f"A{i}",
                    "p": 0.1,
                    "score": 720,
                    "grade": "A",
                    "y": int(book == "2023-01-01" and i == 0),
                }
            )
            rows.append(
                {
                    "book": book,
                    "uscc": f"D{i}",
                    "p": 0.3,
                    "score": 480,
                    "grade": "D",
                    "y": int(i < 3),
                }
            )
    ref = pd.DataFrame({"f": [1.0, 1, 2, 2], "score": [700, 700, 500, 500]})
    cur = pd.DataFrame({"f": [1.0, 2, 2, 2], "score": [700, 700, 500, 500]})
    policies = pd.DataFrame(
        {
            "band_factor": [0.6, 0.7, 1.4],
            "premium_cny": [100.0, 300.0, 200.0],
            "loss_cny": [0.0, 100.0, 500.0],
        }
    )
    return Inputs(
        books=pd.DataFrame(rows),
        grades_from=pd.Series({"A0": "A", "D0": "D"}),
        grades_to=pd.Series({"A0": "B", "D0": "D"}),
        reference=ref,
        current=cur,
        policies=policies,
        features=("f",),
        trained_until="2023-01-01",
    )


def _lenient() -> MonitorPolicy:
    """The shipped policy with every threshold out of the hand-built case's way."""
    policy = load_monitor_policy()
    return policy.model_copy(
        update={
            "thresholds": policy.thresholds.model_copy(
                update={
                    "min_rows": 1,
                    "psi_feature": 1.0,
                    "psi_score": 1.0,
                    "min_auc": 0.5,
                    "calibration_ratio": (0.5, 3.0),
                    "max_loss_ratio": 3.0,
                    "min_premium_cny": 0.0,
                }
            )
        }
    )


def test_report_numbers_by_hand() -> None:
    report = build(
        _case(),
        _lenient(),
        as_of="2024-06-30",
        since="2023-01-01",
        migration_dates=("2023-01-01", "2024-06-30"),
        versions={"model": "m/1"},
    )
    d = report.as_dict()
    pooled = {r["grade"]: r for r in d["rates_by_grade_pooled"]}
    assert (pooled["A"]["n"], pooled["A"]["events"]) == (10, 1)
    assert (pooled["D"]["n"], pooled["D"]["events"]) == (10, 6)
    assert pooled["A"]["rate"] == pytest.approx(0.1)
    assert (pooled["A"]["lo"], pooled["A"]["hi"]) == pytest.approx(wilson(1, 10))
    bands = {r["band"]: r["rate"] for r in d["rates_by_band"]}
    assert bands == {"450–499": pytest.approx(0.6), "700–749": pytest.approx(0.1)}
    calibration = {r["book"]: r for r in d["calibration"]}
    # first book: 4 events in 10 against a mean prediction of 0.2
    assert calibration["2023-01-01"]["rate"] == pytest.approx(0.4)
    assert calibration["2023-01-01"]["ratio"] == pytest.approx(2.0)
    # trained up to the first book: it is in-sample, the second is not
    assert [r["in_training"] for r in d["calibration"]] == [True, False]
    assert [r["in_training"] for r in d["discrimination"]] == [True, False]
    quarters = {r["book"]: r for r in d["discrimination"]}
    # second book: D has 3 events, A none; every bad outranks every good but 2 D goods tie
    # the 3 D bads: AUC = (3·5 + 3·2·½) / (3·7) = 18/21
    assert quarters["2023-04-01"]["auc"] == pytest.approx(18 / 21)
    assert d["migration"]["counts"][0] == [0, 1, 0, 0]  # A → B
    assert d["migration"]["counts"][3] == [0, 0, 0, 1]  # D stays
    drift = {r["feature"]: r["psi"] for r in d["psi"]}
    assert drift["f"] == pytest.approx(0.274653, abs=1e-6) and drift["score"] == 0.0
    losses = {r["band"]: r for r in d["loss_ratio"]}
    assert losses["[0.5, 0.8)"]["loss_ratio"] == pytest.approx(0.25)
    assert losses["[1.25, 1.5]"]["loss_ratio"] == pytest.approx(2.5)
    assert report.breaches == []
    page = render(report)
    assert "data:image/png;base64," in page and "http" not in page.replace("http-equiv", "")


def test_each_threshold_breaches() -> None:
    lenient = _lenient()
    strict = lenient.model_copy(
        update={
            "thresholds": lenient.thresholds.model_copy(
                update={
                    "psi_feature": 0.2,
                    "min_auc": 0.9,
                    "calibration_ratio": (0.5, 1.5),
                    "max_loss_ratio": 2.0,
                }
            )
        }
    )
    report = build(
        _case(),
        strict,
        as_of="2024-06-30",
        since="2023-01-01",
        migration_dates=("2023-01-01", "2024-06-30"),
        versions={},
    )
    text = "\n".join(report.breaches)
    assert "drift: PSI of f 0.275 > 0.2" in text
    assert "calibration: book 2023-01-01" in text
    assert "discrimination: book 2023-04-01: AUC 0.857 < 0.9" in text
    assert "tariff: band [1.25, 1.5]: loss ratio 2.50 > 2.0" in text
    assert "A realised" not in text  # A's rate is below D's


def test_grade_order_breach_and_small_groups_not_judged() -> None:
    case = _case()
    swapped = case.books.assign(grade=case.books["grade"].map({"A": "D", "D": "A"}))
    flipped = pd.concat([swapped] * 5, ignore_index=True)  # A 30 in 50, D 5 in 50
    report = build(
        dataclasses.replace(case, books=flipped),
        _lenient(),
        as_of="2024-06-30",
        since="2023-01-01",
        migration_dates=("a", "b"),
        versions={},
    )
    assert any(b.startswith("grades: all closed books: A realised 0.6000") for b in report.breaches)
    big = _lenient().model_copy(
        update={"thresholds": _lenient().thresholds.model_copy(update={"min_rows": 1000})}
    )
    quiet = build(
        dataclasses.replace(case, books=flipped),
        big,
        as_of="2024-06-30",
        since="2023-01-01",
        migration_dates=("a", "b"),
        versions={},
    )
    assert not any(b.startswith("grades") for b in quiet.breaches)


def test_no_premiums_is_missing_not_zero() -> None:
    report = build(
        dataclasses.replace(_case(), policies=None),
        _lenient(),
        as_of="2024-06-30",
        since="2023-01-01",
        migration_dates=("a", "b"),
        versions={},
    )
    assert report.as_dict()["loss_ratio"] is None
    assert "premiums unknown" in render(report)


def test_policy_file_is_validated(tmp_path: Path) -> None:
    policy = load_monitor_policy()
    assert policy.version == "2026.1" and len(policy.sha256) == 64
    bad = tmp_path / "monitor.toml"
    text = Path("models/policies/monitor-2026.1.toml").read_text()
    bad.write_text(
        text.replace("calibration_ratio = [0.67, 1.5]", "calibration_ratio = [1.2, 1.5]")
    )
    with pytest.raises(PolicyFileError, match="calibration_ratio"):
        load_monitor_policy(bad)
