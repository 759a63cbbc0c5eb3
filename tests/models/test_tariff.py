"""The tariff: versioned files validated on load, each factor, the band, the renewal cap,
monotone in risk, always within the band; last year's accidents as known at as_of; and the
fairness backtest's measures."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.simulate import World
from experiments.tariff_fairness import deciles, ordered_gini, run
from features.contracts import COMPULSORY_INDUSTRIES, INDUSTRIES
from features.grades import GRADE_ORDER, accident_grades
from features.store import History
from models.policy import PolicyFileError
from models.tariff import (
    DEFAULT,
    PricingError,
    Tariff,
    experience,
    factors,
    load_tariff,
    price,
    tariffs,
)
from models.tariff.experience import window
from models.tariff.rate import price_columns
from models.training import Trained

TARIFF = load_tariff("tariff-2026.1")  # prices the probability against a reference table
CONDUCT = load_tariff()  # 2026.2, the default: prices the credit score's relative risk
FUYANG = load_tariff("tariff-fuyang-2026.1")


def inputs(n: int = 1, **overrides: object) -> pd.DataFrame:
    row: dict[str, object] = {
        "industry": "mining",
        "headcount": 200,
        "insured_amount_cny": 500_000.0,
        "probability": 0.05,
        "conduct_risk": 1.0,
        "accident_grade": "",
        "standardization_grade": np.nan,
        "honours": "none",
        "listed": False,
        "previous_rate": np.nan,
    }
    row.update(overrides)
    return pd.DataFrame([row] * n)


def one(tariff: Tariff = TARIFF, **overrides: object) -> pd.Series:
    return price(tariff, inputs(**overrides)).iloc[0]


def test_shipped_tariffs_load_with_version_and_hash() -> None:
    assert [p.name for p in tariffs()] == [
        "tariff-2026.1.toml",
        "tariff-2026.2.toml",
        "tariff-fuyang-2026.1.toml",
    ]
    assert TARIFF.version == "2026.1" and len(TARIFF.sha256) == 64
    assert CONDUCT.version == "2026.2" and CONDUCT.sha256 != TARIFF.sha256
    assert TARIFF.unit == "permille_of_insured_amount"
    assert set(TARIFF.insurance.compulsory_industries) == COMPULSORY_INDUSTRIES
    assert TARIFF.insurance.min_insured_amount_cny == 400_000
    # the Fuyang file carries the published factors (domain-rules §6)
    e, h = FUYANG.factors.accident_experience, FUYANG.factors.honours
    assert (e.none, e.general, e.larger, e.major) == (0.9, 1.1, 1.2, 1.3)
    assert (h.city, h.province) == (0.95, 0.9)
    assert not FUYANG.factors.model_risk.enabled


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("floor = 0.5", "floor = 1.2", "band"),
        ("mining = [1.845", "minning = [1.845", "base_rates"),
        ("none = 0.90 ", "none = 1.50 ", "accident_experience"),
        ('"construction", "civil_explosives"', '"construction", "shipping"', "compulsory"),
        ('unit = "permille_of_insured_amount"', 'unit = "cny_per_person"', "unit"),
    ],
)
def test_a_bad_tariff_file_is_refused_naming_the_field(
    tmp_path: Path, old: str, new: str, field: str
) -> None:
    text = DEFAULT.read_text()
    assert old in text
    bad = tmp_path / "tariff-bad.toml"
    bad.write_text(text.replace(old, new, 1))
    with pytest.raises(PolicyFileError, match=field):
        load_tariff(bad)


def test_base_rate_by_industry_and_size_band_and_the_premium() -> None:
    for headcount, band in ((5, 0), (29, 0), (30, 1), (299, 2), (300, 3), (5_000, 3)):
        r = one(headcount=headcount, industry="fishery")
        assert r["size_band"] == TARIFF.size_bands.labels[band]
        assert r["base_rate"] == TARIFF.base_rates["fishery"][band]
    r = one()
    assert r["premium_cny"] == pytest.approx(500_000 * 200 * r["rate"] / 1000, abs=0.005)
    assert r["rate"] == pytest.approx(r["base_rate"] * r["product_banded"], rel=1e-12)


def test_model_risk_is_relative_risk_blended_by_credibility() -> None:
    m = TARIFF.factors.model_risk
    ref = TARIFF.reference["mining"][2]  # 100–299 persons
    # twice the expected risk at headcount K: credibility 1/2, factor 1 + ½·(2 − 1)
    r = one(headcount=int(m.credibility_k), probability=2 * ref)
    assert r["relative_risk"] == pytest.approx(2.0)
    assert r["credibility"] == pytest.approx(0.5)
    assert r["f_model_risk"] == pytest.approx(1.5)
    # small enterprises float less at the same relative risk
    small = one(headcount=10, probability=2 * TARIFF.reference["mining"][0])
    assert 1 < small["f_model_risk"] < 1.1
    # the relative risk is held within its floor and cap
    assert one(probability=0.0)["relative_risk"] == m.relative_floor
    assert one(probability=0.99)["relative_risk"] == m.relative_cap
    # switched off (Fuyang), the factor is 1 whatever the probability
    assert one(FUYANG, probability=0.9)["f_model_risk"] == 1.0


def test_the_conduct_tariff_prices_exposure_and_conduct_once_each() -> None:
    m = CONDUCT.factors.model_risk
    assert CONDUCT.version == "2026.2" and m.basis == "conduct"
    # the conduct factor: the score's relative risk, blended by credibility
    r = one(CONDUCT, headcount=int(m.credibility_k), conduct_risk=2.0)
    assert r["relative_risk"] == pytest.approx(2.0) and r["f_model_risk"] == pytest.approx(1.5)
    # headcount moves the exposure only: the band and base rate, credibility and premium, never
    # the relative risk (2026.1 divided the same probability by the new band's reference)
    small, large = (one(CONDUCT, headcount=h, conduct_risk=2.0) for h in (50, 174))
    assert small["relative_risk"] == large["relative_risk"] == pytest.approx(2.0)
    assert small["size_band"] != large["size_band"]
    before = [one(TARIFF, headcount=h, probability=0.05)["relative_risk"] for h in (50, 174)]
    assert before[0] != before[1]
    # the probability still prices nothing twice: it is not read by the conduct factor
    assert one(CONDUCT, conduct_risk=1.0, probability=0.9)["f_model_risk"] == 1.0
    with pytest.raises(PricingError, match="conduct_risk"):
        price(CONDUCT, inputs().drop(columns="conduct_risk"))
    with pytest.raises(PricingError, match="conduct_risk: invalid value"):
        price(CONDUCT, inputs(conduct_risk=0.0))


def test_accident_experience_standardization_honours_and_listing() -> None:
    e = TARIFF.factors.accident_experience
    assert one()["f_accident_experience"] == e.none
    for grade in GRADE_ORDER:
        assert one(accident_grade=grade)["f_accident_experience"] == getattr(e, grade)
    s = TARIFF.factors.standardization
    for grade, expected in ((1, s.grade_1), (2, s.grade_2), (3, s.grade_3), (np.nan, s.ungraded)):
        assert one(standardization_grade=grade)["f_standardization"] == expected
    h = TARIFF.factors.honours
    assert [one(honours=x)["f_honours"] for x in ("none", "city", "province")] == [
        h.none,
        h.city,
        h.province,
    ]
    assert one(listed=True)["f_listing"] == TARIFF.factors.listing.surcharge
    assert one(listed=False)["f_listing"] == 1.0
    r = one(accident_grade="larger", listed=True, honours="city", standardization_grade=2)
    product = np.prod([r[c] for c in r.index if c.startswith("f_")])
    assert r["product"] == pytest.approx(product, rel=1e-12)


def test_the_product_is_clamped_to_the_band() -> None:
    b = TARIFF.band
    high = one(probability=0.99, headcount=5_000, accident_grade="major", listed=True)
    assert high["product"] > b.cap and high["product_banded"] == b.cap
    assert high["rate"] == pytest.approx(high["base_rate"] * b.cap)
    low = one(probability=0.0, headcount=5_000, standardization_grade=1, honours="province")
    assert low["product"] < b.floor and low["product_banded"] == b.floor


def test_renewal_cap_holds_the_rate_near_last_years_but_never_leaves_the_band() -> None:
    r = TARIFF.renewal
    assert r is not None
    free = one(probability=0.99, accident_grade="major")
    previous = free["rate"] / 2
    capped = one(probability=0.99, accident_grade="major", previous_rate=previous)
    assert capped["renewal_capped"]
    assert capped["rate"] == pytest.approx(previous * (1 + r.max_increase))
    assert capped["premium_cny"] < free["premium_cny"]
    # last year's rate far below the band: the band's floor still wins
    tiny = one(probability=0.99, accident_grade="major", previous_rate=free["base_rate"] / 100)
    assert tiny["rate"] == pytest.approx(tiny["base_rate"] * TARIFF.band.floor)
    # within the cap: nothing changes
    assert not one(previous_rate=one()["rate"])["renewal_capped"]
    # a tariff without a renewal cap ignores last year's rate
    assert one(FUYANG, previous_rate=0.001)["rate"] == one(FUYANG)["rate"]


def test_compulsory_by_the_tariffs_scope(tmp_path: Path) -> None:
    assert one(industry="transport")["compulsory"] and not one(industry="retail")["compulsory"]
    text = DEFAULT.read_text().replace(
        '"mining", "hazardous_chemicals", "fireworks", "transport",\n'
        '    "construction", "civil_explosives", "metal_smelting", "fishery",',
        '"mining", "hazardous_chemicals", "fireworks", "metal_smelting",',
    )
    path = tmp_path / "tariff-shanxi.toml"
    path.write_text(text)
    narrow = load_tariff(path)
    assert set(narrow.insurance.compulsory_industries) == {
        "mining",
        "hazardous_chemicals",
        "fireworks",
        "metal_smelting",
    }
    assert not one(narrow, industry="transport")["compulsory"]
    assert one(narrow, industry="mining")["compulsory"]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("insured_amount_cny", 399_999.0),
        ("headcount", -3),
        ("headcount", 0),
        ("industry", "shipping"),
        ("honours", "national"),
        ("accident_grade", "minor"),
        ("probability", 1.5),
        ("previous_rate", -1.0),
    ],
)
def test_inputs_the_tariff_cannot_price_are_refused_naming_the_column(
    column: str, value: object
) -> None:
    with pytest.raises(PricingError, match=f"^{column}: invalid value in row"):
        price(TARIFF, inputs(**{column: value}))


def test_factor_reasons_name_numbers_and_multipliers() -> None:
    x = inputs(accident_grade="larger", listed=True, honours="province", standardization_grade=2)
    row_in = x.iloc[0].to_dict() | {
        "accident_ids": "ACC-1",
        "experience_window": "2024-01-01–2024-12-31",
        "listing_rules": "S2 (mem11@2023.1)",
    }
    priced = price(TARIFF, x).iloc[0].to_dict()
    got = {f.code: f for f in factors(TARIFF, row_in, priced)}
    assert list(got) == [
        "model_risk",
        "accident_experience",
        "standardization",
        "honours",
        "listing",
    ]
    assert got["accident_experience"].multiplier == 1.2 and "ACC-1" in got["accident_experience"].en
    assert "较大" in got["accident_experience"].zh
    assert "S2 (mem11@2023.1)" in got["listing"].en
    assert got["model_risk"].detail["credibility"] == pytest.approx(priced["credibility"])
    assert "5.00%" in got["model_risk"].en


rows = st.fixed_dictionaries(
    {
        "industry": st.sampled_from(list(INDUSTRIES)),
        "headcount": st.integers(1, 20_000),
        "insured_amount_cny": st.floats(400_000, 2_000_000),
        "accident_grade": st.sampled_from(["", *GRADE_ORDER]),
        "standardization_grade": st.sampled_from([1, 2, 3, np.nan]),
        "honours": st.sampled_from(["none", "city", "province"]),
        "listed": st.booleans(),
        "previous_rate": st.one_of(st.just(np.nan), st.floats(0.001, 50)),
    }
)


@settings(max_examples=150, deadline=None)
@given(row=rows, p=st.floats(0, 1), q=st.floats(0, 1), which=st.sampled_from([TARIFF, FUYANG]))
def test_more_risk_never_lowers_the_rate_and_the_rate_stays_in_the_band(
    row: dict, p: float, q: float, which: Tariff
) -> None:
    low, high = sorted((p, q))
    priced = price(which, pd.DataFrame([row | {"probability": low}, row | {"probability": high}]))
    assert priced["rate"].iloc[1] >= priced["rate"].iloc[0]
    base = priced["base_rate"].to_numpy()
    rate = priced["rate"].to_numpy()
    assert (rate >= base * which.band.floor * (1 - 1e-12)).all()
    assert (rate <= base * which.band.cap * (1 + 1e-12)).all()


@settings(max_examples=40, deadline=None)
@given(
    batch=st.lists(rows, min_size=1, max_size=30),
    p=st.lists(st.floats(0, 1), min_size=30, max_size=30),
    which=st.sampled_from([TARIFF, FUYANG]),
)
def test_a_row_priced_alone_is_the_same_row_priced_in_a_batch(
    batch: list[dict], p: list[float], which: Tariff
) -> None:
    """The service prices one enterprise as columns of one value, batches as long columns:
    the same arithmetic, to the last bit, whatever the row's neighbours."""
    frame = pd.DataFrame([r | {"probability": q} for r, q in zip(batch, p, strict=False)])
    together = price(which, frame.set_axis(np.arange(len(frame))[::-1]))
    for i in range(len(frame)):
        alone = price_columns(which, {c: frame[c].to_numpy()[i : i + 1] for c in frame.columns})
        row = together.iloc[i].to_dict()
        assert list(row) == list(alone)
        for k, v in alone.items():  # equal, or both NaN (the model-risk columns when disabled)
            assert row[k] == v[0] or (row[k] != row[k] and v[0] != v[0]), k


def test_last_years_accidents_as_known_at_as_of(world: World, history: History) -> None:
    rule = TARIFF.factors.accident_experience
    start, as_of = dt.date(2025, 1, 1), dt.date(2024, 10, 1)  # quoted a quarter ahead
    acc = world.tables["accidents"]
    in_window = acc[(acc["occurred_on"] >= "2024-01-01") & (acc["occurred_on"] < "2025-01-01")]
    known = in_window[in_window["reported_on"] <= pd.Timestamp(as_of)]
    unknown = in_window[in_window["reported_on"] > pd.Timestamp(as_of)]
    assert len(known) and len(unknown), "the province should have both kinds"
    codes = sorted(set(in_window["uscc"]) | set(acc["uscc"].iloc[:20]))
    got = experience(history, codes, as_of=as_of, period_start=start, rule=rule)
    graded = known.assign(grade=accident_grades(known))
    worst = graded.groupby("uscc")["grade"].max().astype(str)
    expected = pd.Series("", index=pd.Index(codes)).astype(object)
    expected[worst.index] = worst
    assert got["accident_grade"].to_dict() == expected.to_dict()
    # what was not yet known at as_of counts once it is
    later = experience(history, codes, as_of=start, period_start=start, rule=rule)
    not_yet = set(unknown["uscc"]) - set(known["uscc"])
    assert not_yet and all(later.loc[u, "accident_grade"] for u in not_yet)
    assert not any(got.loc[u, "accident_grade"] for u in not_yet)


@given(
    day=st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31)),
    months=st.integers(min_value=0, max_value=120),
)
def test_the_experience_window_starts_where_the_recorded_quotes_started_it(
    day: dt.date, months: int
) -> None:
    """The window's first day is counted as pandas' month arithmetic counted it for the quotes
    already in the ledger (their replays must match): the month's last day when it is shorter."""
    first, last = window(day, months)
    assert first == (pd.Timestamp(day) - pd.DateOffset(months=months)).date()
    assert last == day - dt.timedelta(days=1)


def test_ordered_gini_and_decile_loss_ratios() -> None:
    rng = np.random.default_rng(1)
    risk = rng.gamma(1.0, 1.0, 40_000)
    loss = rng.poisson(risk) * 1.0
    flat = np.ones_like(risk)
    assert ordered_gini(flat, flat, loss) == pytest.approx(0.0, abs=1e-12)
    assert ordered_gini(risk, flat, loss) > 0.3  # premiums that follow the risk order losses
    assert ordered_gini(1 / risk, flat, loss) < -0.3
    table = pd.DataFrame({"probability": risk, "loss": loss, "flat": flat, "fair": risk})
    d = deciles(table, ["flat", "fair"])
    assert d["enterprises"].sum() == 40_000 and d["loss_share"].sum() == pytest.approx(1.0)
    assert d["lr_flat"].iloc[-1] > 2 * d["lr_flat"].iloc[0]  # flat: the risky deciles lose
    assert (d["lr_fair"] - 1).abs().max() < 0.25  # premiums in proportion to risk: level


def test_the_fairness_backtest_logs_its_table(
    world: World, trained: Trained, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    by_decile, stats, run_id = run(
        world,
        trained.model,
        period_start=dt.date(2025, 1, 1),
        tracking_uri=uri,
        artifact_root=tmp_path / "art",
    )
    assert len(by_decile) == 10
    assert stats["gini_flat"] == pytest.approx(0.0, abs=1e-12)
    assert {"spread_flat", "spread_2026.1", "gini_2026.1"} <= set(stats)
    client = MlflowClient(uri)
    logged = {a.path for a in client.list_artifacts(run_id)}
    assert {"deciles.csv", "loss_ratio_by_decile.png"} <= logged
    assert client.get_run(run_id).data.params["tariff_2026.1"] == TARIFF.sha256
