"""The synthetic province: deterministic, valid under the contract, and a world a regulator would
recognise (risk follows culture, industry and hazards; the truth is the probability it claims)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.simulate import World, simulate, write_world
from experiments.world import accidents as accident_model
from experiments.world import firms as firm_model
from experiments.world import params
from experiments.world.dates import month_starts
from experiments.world.province import Province
from features.contracts import TABLES
from features.extract import read_extract
from features.grades import GRADE_ORDER, accident_grades
from features.uscc import is_valid
from features.validate import validate


@pytest.fixture(scope="module")
def small() -> World:
    return simulate(300, 3, seed=11)


@pytest.fixture(scope="module")
def province() -> World:
    """Large enough for the statistics to be clear, small enough to be quick."""
    return simulate(5000, 3, seed=3)


def enterprise_years(world: World) -> pd.DataFrame:
    """The truth with the industry and whether the extract shows a responsible accident."""
    t = world.truth.copy()
    acc = world.tables["accidents"]
    acc = acc[acc["responsible"].to_numpy(dtype=bool)]
    years = t[["uscc", "start", "end"]].drop_duplicates(["start"])
    hit = set()
    for start, end in zip(years["start"], years["end"], strict=True):
        inside = acc[(acc["occurred_on"] >= start) & (acc["occurred_on"] <= end)]
        hit |= {(u, start.year) for u in inside["uscc"]}
    t["accident"] = [(u, s.year) in hit for u, s in zip(t["uscc"], t["start"], strict=True)]
    industry = world.tables["enterprises"].set_index("uscc")["industry"]
    t["industry"] = industry.loc[t["uscc"]].to_numpy()
    return t


def missing_as_none(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns with one kind of missing value (the reader gives NaN, the simulator None)."""
    out = frame.copy()
    for name in out.columns:
        if out[name].dtype == object:
            out[name] = out[name].astype(object).where(out[name].notna(), None)
    return out


# ---------------------------------------------------------------- determinism and files


def test_the_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    for fmt in ("csv", "parquet"):
        for run in ("a", "b"):
            write_world(simulate(300, 3, seed=11), tmp_path / fmt / run, fmt)  # type: ignore[arg-type]
        first = sorted((tmp_path / fmt / "a").iterdir())
        assert [p.name for p in first] == sorted(
            [f"{t}.{fmt}" for t in TABLES] + ["truth.csv", "manifest.json"]
        )
        for path in first:
            assert path.read_bytes() == (tmp_path / fmt / "b" / path.name).read_bytes(), path.name


def test_another_seed_gives_another_world(small: World) -> None:
    other = simulate(300, 3, seed=12)
    assert set(other.tables["enterprises"]["uscc"]) != set(small.tables["enterprises"]["uscc"])


def test_csv_cells_are_plain(small: World, tmp_path: Path) -> None:
    write_world(small, tmp_path, "csv")
    lines = (tmp_path / "accidents.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(TABLES["accidents"].names)
    row = lines[1].split(",")
    assert dt.date.fromisoformat(row[2])  # occurred_on as yyyy-mm-dd
    assert row[8] in ("true", "false")
    penalties = (tmp_path / "penalties.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert any(",," in line for line in penalties)  # empty cells for missing values


def test_bad_arguments_are_refused(small: World, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        simulate(0, 3, seed=1)
    with pytest.raises(ValueError):
        write_world(small, tmp_path, "xlsx")  # type: ignore[arg-type]


def test_progress_shows_a_bar_over_months(capsys: pytest.CaptureFixture[str]) -> None:
    simulate(20, 1, seed=1, progress=True)
    assert "simulating" in capsys.readouterr().err


# ---------------------------------------------------------------- the contract


def test_tables_have_exactly_the_contract_columns(small: World) -> None:
    assert list(small.tables) == list(TABLES)
    for name, table in TABLES.items():
        assert tuple(small.tables[name].columns) == table.names, name
        assert len(small.tables[name]) > 0, name


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_written_extract_validates_and_reads_back_as_the_same_frames(
    small: World, tmp_path: Path, fmt: str
) -> None:
    write_world(small, tmp_path, fmt)  # type: ignore[arg-type]
    extract, _ = read_extract(tmp_path)
    checked = validate(extract, known_on=small.end)
    assert [str(p) for p in checked.errors] == []
    assert [str(p) for p in checked.warnings] == []
    for name in TABLES:
        pd.testing.assert_frame_equal(
            missing_as_none(checked.frames[name]), missing_as_none(small.tables[name])
        )


def test_codes_are_valid_unique_and_carry_the_region(small: World) -> None:
    e = small.tables["enterprises"]
    assert e["uscc"].is_unique and e["name"].is_unique
    assert all(is_valid(code) for code in e["uscc"])
    assert (e["uscc"].str[:2] == "91").all()
    assert (e["uscc"].str[2:8] == e["region_code"]).all()
    assert e["region_code"].str.fullmatch(r"\d{6}").all()
    assert set(e["industry"]) <= set(params.load().industries)


def test_records_refer_to_what_they_belong_to(small: World) -> None:
    t = small.tables
    ins = t["inspections"].set_index("inspection_id")
    pen = t["penalties"].set_index("penalty_decision_id")
    v = t["violations"]
    at = v[v["inspection_id"].notna()]
    assert (ins.loc[at["inspection_id"], "uscc"].to_numpy() == at["uscc"].to_numpy()).all()
    assert (ins.loc[at["inspection_id"], "inspected_on"].to_numpy() == at["found_on"]).all()
    for frame, day in ((v, "found_on"), (t["accidents"], "reported_on")):
        linked = frame[frame["penalty_decision_id"].notna()]
        decisions = pen.loc[linked["penalty_decision_id"]]
        assert (decisions["uscc"].to_numpy() == linked["uscc"].to_numpy()).all()
        assert (decisions["decided_on"].to_numpy() >= linked[day].to_numpy()).all()


def test_dates_lie_in_the_history(small: World) -> None:
    t, start, end = small.tables, pd.Timestamp(small.start), pd.Timestamp(small.end)
    assert (t["enterprises"]["established_on"] < start).all()
    for name, column in (
        ("inspections", "inspected_on"),
        ("violations", "found_on"),
        ("penalties", "decided_on"),
        ("accidents", "occurred_on"),
    ):
        assert t[name][column].between(start, end).all(), name
    h = t["hazards"]
    before = h["found_on"] < start
    assert before.any()  # hazards still open when the history starts are carried in
    assert (h.loc[before, "rectified_on"].isna() | (h.loc[before, "rectified_on"] >= start)).all()
    assert (h["due_on"] >= h["found_on"]).all()  # a deadline may lie after `end`
    assert h["rectified_on"].isna().any()  # some still open at the end


# ---------------------------------------------------------------- a world a regulator recognises


def test_accidents_are_likelier_in_worse_culture_deciles(province: World) -> None:
    t = enterprise_years(province)
    rate = t.groupby(pd.qcut(t["culture"], 10, labels=False))["accident"].mean()
    assert rate.iloc[:3].mean() > 2.5 * rate.iloc[-3:].mean()  # decile 0: worst culture
    assert rate.corr(pd.Series(np.arange(10.0)), method="spearman") < -0.8


def test_mining_has_more_accidents_than_retail(province: World) -> None:
    rate = enterprise_years(province).groupby("industry")["accident"].mean()
    assert rate["mining"] > 5 * rate["retail"]
    assert rate["construction"] > rate["manufacturing"] > rate["retail"]


def test_most_accidents_are_general_and_a_few_are_worse(province: World) -> None:
    grades = accident_grades(province.tables["accidents"]).value_counts(normalize=True)
    assert grades["general"] > 0.9
    assert grades["general"] < 1


def test_drawn_casualties_fall_inside_their_grade() -> None:
    p = params.load()
    rng = np.random.default_rng(0)
    tier = np.repeat(np.arange(4), 2000)
    industry = rng.integers(0, len(p.industries), len(tier))
    deaths, injuries, loss = accident_model._casualties(rng, p, tier, industry)
    frame = pd.DataFrame({"deaths": deaths, "serious_injuries": injuries, "direct_loss_cny": loss})
    assert (accident_grades(frame).cat.codes.to_numpy() == tier).all()
    assert list(GRADE_ORDER) == ["general", "larger", "major", "especially_major"]


def test_bad_cultures_misreport_and_rectify_late(province: World) -> None:
    culture = province.truth.groupby("uscc")["culture"].mean()
    worse = culture < culture.median()
    a = province.tables["accidents"]
    a = a[a["responsible"].to_numpy(dtype=bool)]
    misreported = a["reporting"] != "on_time"
    assert misreported[worse.loc[a["uscc"]].to_numpy()].mean() > 1.5 * (
        misreported[~worse.loc[a["uscc"]].to_numpy()].mean()
    )
    h = province.tables["hazards"]
    late = (h["rectified_on"] > h["due_on"]) | (
        h["rectified_on"].isna() & (h["due_on"] < pd.Timestamp(province.end))
    )
    bad = worse.loc[h["uscc"]].to_numpy()
    assert late[bad].mean() > 1.5 * late[~bad].mean()
    major = (h["level"] == "major").to_numpy()
    assert late[bad & major].sum() > late[~bad & major].sum()


def test_riskier_industries_and_worse_records_are_inspected_more(province: World) -> None:
    t = province.tables
    e = t["enterprises"].set_index("uscc")
    ins = t["inspections"]
    per_firm = ins.groupby("uscc").size().reindex(e.index, fill_value=0)
    by_industry = per_firm.groupby(e["industry"]).mean()
    assert by_industry["mining"] > 5 * by_industry["retail"]
    # enterprises with a serious violation in the first year are inspected more in the next
    first = pd.Timestamp(province.start) + pd.DateOffset(years=1)
    v = t["violations"]
    flagged = set(v.loc[(v["found_on"] < first) & (v["severity"] == "serious"), "uscc"])
    later = ins[ins["inspected_on"] >= first].groupby("uscc").size().reindex(e.index, fill_value=0)
    same = e["industry"] == "manufacturing"
    with_record = later[same & e.index.isin(list(flagged))].mean()
    assert with_record > 1.2 * later[same & ~e.index.isin(list(flagged))].mean()


def test_penalties_cover_the_measures_the_rules_look_for(province: World) -> None:
    t = province.tables
    pen = t["penalties"]
    assert set(pen["measure"]) == {
        "warning",
        "fine",
        "suspension",
        "permit_suspended",
        "permit_revoked",
        "closure",
    }
    multiplied = pen[pen["fine_multiplier"].notna()]
    assert len(multiplied) and multiplied["fine_multiplier"].between(2, 5).all()
    assert set(multiplied["penalty_decision_id"]) <= set(t["accidents"]["penalty_decision_id"])
    assert (multiplied["measure"] == "fine").all()
    assert 0 < pen["fulfilled_on"].isna().mean() < 0.2
    assert (pen.loc[pen["measure"] == "warning", "amount_cny"].isna()).all()
    assert pen["department"].notna().all()
    v = t["violations"].merge(t["enterprises"][["uscc", "industry"]], on="uscc")
    special = v[v["category"].isin(["no_permit", "refused_order", "operating_under_suspension"])]
    assert len(special) and special["penalty_decision_id"].notna().mean() > 0.9
    assert set(v.loc[v["category"] == "false_report", "industry"]) <= {"safety_services"}
    assert set(v.loc[v["category"] == "beyond_licence", "industry"]) <= {"mining"}
    assert 0.9 < (v["category"].isin(list(params.load()["violations"]["categories"]))).mean() < 1
    a = t["accidents"]
    assert a["responsible"].mean() > 0.85
    assert 0 < a["principal_fled"].sum() < 0.05 * len(a)
    assert {"on_time", "late", "concealed"} <= set(a["reporting"])
    assert a["penalty_decision_id"].notna().any()


# ---------------------------------------------------------------- the truth


def test_truth_has_one_row_per_operating_enterprise_year(province: World) -> None:
    t = province.truth
    assert list(t.columns) == [
        "uscc",
        "year",
        "start",
        "end",
        "p_accident",
        "expected_accidents",
        "responsible_accidents",
        "culture",
    ]
    assert not t.duplicated(["uscc", "year"]).any()
    assert sorted(t["year"].unique()) == [2023, 2024, 2025]
    assert t["start"].min() == pd.Timestamp(province.start)
    assert t["end"].max() == pd.Timestamp(province.end)
    first = t[t["year"] == 2023]
    assert len(first) == len(province.tables["enterprises"])
    assert set(t["uscc"]) <= set(province.tables["enterprises"]["uscc"])


def test_truth_is_a_probability_that_matches_what_happened(province: World) -> None:
    t = province.truth
    p = t["p_accident"].to_numpy()
    assert ((p > 0) & (p < 1)).all()
    assert p == pytest.approx(1 - np.exp(-t["expected_accidents"].to_numpy()), rel=1e-12)
    happened = (t["responsible_accidents"] > 0).to_numpy()
    # calibrated: the count of years with an accident is within 4 sd of what p predicts
    assert abs(happened.sum() - p.sum()) < 4 * np.sqrt((p * (1 - p)).sum())
    # and informative about the accidents in the extract
    seen = enterprise_years(province)
    assert seen.loc[seen["accident"], "p_accident"].mean() > 2 * (
        seen.loc[~seen["accident"], "p_accident"].mean()
    )
    assert seen["accident"].sum() <= happened.sum()  # some are not reported by the end


def test_an_open_major_hazard_raises_the_monthly_accident_rate() -> None:
    p = params.load()
    rng = np.random.default_rng(0)
    firms = firm_model.build(rng, p, 50, before_day=18_000)
    world = Province(rng, p, firms, month_starts(dt.date(2025, 12, 31), 24), burn=12)
    risk = world.risk
    before = world._accident_rate(risk)
    world.open[1, :10] += 1  # one more major hazard found and not yet rectified
    world.hidden[1, 10:20] += 1  # one more not yet found: just as dangerous
    after = world._accident_rate(risk)
    factor = np.exp(p["accidents"]["major_hazard"])
    assert after[:20] == pytest.approx(before[:20] * factor, rel=1e-12)
    assert after[20:] == pytest.approx(before[20:], rel=1e-12)
