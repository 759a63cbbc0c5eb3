"""Quotes end to end on SQLite and PostgreSQL: the enterprise record, its score and the
listings in force priced by the tariff; a batch equals the quotes one by one; bad input gets a
clear error naming the field; the command quotes a CSV book."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd
import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from experiments.simulate import World, write_world
from features.catalogue import CATALOGUE_VERSION
from features.ingest import ingest
from models.policy import ScoringPolicy
from models.recourse import Actions
from models.tariff import load_tariff
from models.tracking import Loaded
from models.training import Trained
from service.engine.decisions import Scorer
from service.engine.quotes import (
    QuoteError,
    Quoter,
    QuoteRequest,
    UnknownEnterprise,
    check,
    frame,
    period_end,
    quote,
    quote_one,
)
from tests.service.conftest import publish_first

END = dt.date(2025, 12, 31)
START = dt.date(2026, 1, 1)
TARIFF = load_tariff()


@pytest.fixture
def quoter(trained: Trained, policy: ScoringPolicy, actions: Actions) -> Quoter:
    loaded = Loaded(trained.model, "safecredit-risk", "test", "-")
    return Quoter(Scorer(loaded, policy, actions, CATALOGUE_VERSION), TARIFF)


def _same(a: object, b: object) -> None:
    """Equal, numbers up to the last bits a batched prediction may differ in; money to the fen."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys()
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, abs=0.01 if max(a, b) > 1_000 else 1e-12)
    else:
        assert a == b


def _publish(session: Session) -> str:
    """Walk one proposal of the listing rules to publication; its code."""
    dates = (dt.date(2025, 10, 5), dt.date(2025, 10, 6), dt.date(2025, 11, 3), dt.date(2025, 11, 5))
    with session.begin_nested():
        proposal, _ = publish_first(session, on=dates)
    return proposal.uscc


def test_a_quote_end_to_end_and_a_batch_equals_one_by_one(
    loaded_session: Session, quoter: Quoter, world: World
) -> None:
    listed = _publish(loaded_session)
    enterprises = world.tables["enterprises"].set_index("uscc")
    codes = [listed, *enterprises.sample(39, random_state=3).index.drop(listed, errors="ignore")]
    requests = [
        QuoteRequest(
            uscc=u,
            insured_amount_cny=400_000 + 10_000 * (i % 3),
            period_start=START,
            as_of=END,
            honours=("none", "city", "province")[i % 3],
            previous_rate=None if i % 4 else 1.0,
        )
        for i, u in enumerate(codes)
    ]
    batch = quote(loaded_session, quoter, requests)
    one_by_one = [quote_one(loaded_session, quoter, r) for r in requests]
    for a, b in zip(batch, one_by_one, strict=True):
        _same(a.as_dict(), b.as_dict())

    q = batch[0]  # the listed enterprise
    record = enterprises.loc[listed]
    assert q.headcount == record["employees"] and q.headcount_source == "enterprise record"
    assert q.industry == record["industry"] and q.compulsory == (
        record["industry"] in TARIFF.insurance.compulsory_industries
    )
    assert q.period_end == dt.date(2026, 12, 31)
    by_code = {f.code: f for f in q.factors}
    assert by_code["listing"].multiplier == TARIFF.factors.listing.surcharge
    assert q.listings and "mem11" in by_code["listing"].en
    assert by_code["model_risk"].detail["principal_reasons"] == q.reasons
    assert q.product == pytest.approx(math.prod(f.multiplier for f in q.factors))
    assert q.premium_cny == pytest.approx(
        q.insured_amount_cny * q.headcount * q.rate / 1000, abs=0.01
    )
    assert (q.tariff_version, q.tariff_sha256, q.model_version) == (
        TARIFF.version,
        TARIFF.sha256,
        "test",
    )
    assert q.versions["tariff"] == TARIFF.label and q.inputs["as_of"] == "2025-12-31"

    table = frame(batch)
    assert list(table["uscc"]) == codes and (table["tariff_version"] == TARIFF.version).all()
    low, high = TARIFF.band.floor, TARIFF.band.cap
    assert (
        (table["rate"] >= table["base_rate"] * low - 1e-12)
        & (table["rate"] <= table["base_rate"] * high + 1e-12)
    ).all()
    # a headcount given in the request wins over the record
    asked = quote_one(
        loaded_session,
        quoter,
        QuoteRequest(uscc=codes[1], insured_amount_cny=400_000, period_start=START, headcount=7),
    )
    assert asked.headcount == 7 and asked.headcount_source == "request"
    assert asked.as_of == START  # as_of defaults to the period start

    # an accident last year raises the quote, and the factor names it
    acc = world.tables["accidents"]
    recent = acc[(acc["occurred_on"] >= "2025-01-01") & (acc["reported_on"] <= "2025-12-31")]
    uscc = recent["uscc"].iloc[0]
    request = QuoteRequest(uscc=uscc, insured_amount_cny=400_000, period_start=START)
    experience = next(
        f
        for f in quote_one(loaded_session, quoter, request).factors
        if f.code == "accident_experience"
    )
    assert experience.detail["grade"] and experience.multiplier > 1
    assert str(recent["accident_id"].iloc[0]) in experience.detail["accidents"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"insured_amount_cny": 300_000}, "insured_amount_cny: 300,000 CNY is below the minimum"),
        ({"insured_amount_cny": float("nan")}, "insured_amount_cny: nan is not a number"),
        ({"headcount": -5}, "headcount: -5 must be a whole number from 1"),
        ({"headcount": 10**8}, "headcount: 100000000 must be a whole number from 1"),
        ({"insured_amount_cny": 1e308}, "insured_amount_cny: 1e.308 CNY is above the tariff"),
        ({"period_start": dt.date(9999, 1, 1)}, "period_start: 9999-01-01 is outside the years"),
        ({"period_start": dt.date(1, 1, 1)}, "period_start: 0001-01-01 is outside the years"),
        ({"headcount": 0}, "headcount: 0 must be a whole number"),
        ({"honours": "national"}, "honours: 'national' must be one of none, city, province"),
        ({"previous_rate": -1.0}, "previous_rate: -1.0 must be a positive rate"),
        ({"as_of": dt.date(2026, 2, 1)}, "as_of: 2026-02-01 is after period_start 2026-01-01"),
        ({"as_of": dt.date(2024, 1, 1)}, "period_start: 2026-01-01 is more than 366 days"),
        ({"period_start": "2026-13-01"}, "period_start: '2026-13-01' is not a date"),
        ({"uscc": "9114010"}, "uscc: USCC must have 18 characters, got 7"),
    ],
)
def test_bad_input_is_refused_naming_the_field(change: dict, message: str) -> None:
    fields = {"uscc": "91350200MA31E12PXF", "insured_amount_cny": 400_000, "period_start": START}
    with pytest.raises(QuoteError, match="^" + message.replace("(", r"\(")) as caught:
        check(TARIFF, [QuoteRequest(**(fields | change))])
    assert caught.value.status == 422 and caught.value.kind == "bad_quote"


def test_a_batch_names_every_bad_row() -> None:
    rows = [
        QuoteRequest("91350200MA31E12PXF", 400_000, START),
        QuoteRequest("91350200MA31E12PXF", 100, START, headcount=-1),
    ]
    with pytest.raises(QuoteError) as caught:
        check(TARIFF, rows)
    assert [p.split(":")[0] for p in caught.value.problems] == ["row 2", "row 2"]


def test_an_unknown_enterprise_is_a_404_naming_the_code(session: Session, quoter: Quoter) -> None:
    request = QuoteRequest("91350200MA31E12PXF", 400_000, START)
    with pytest.raises(
        UnknownEnterprise, match="uscc: not a known enterprise as of 2026-01-01: 91350200MA31E12PXF"
    ) as caught:
        quote(session, quoter, [request])
    assert caught.value.status == 404


@pytest.fixture
def cli_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, world: World, quoter: Quoter
) -> CliRunner:
    """A file database holding the world, and the command registered as the lead registers it;
    the model comes from the ``trained`` fixture instead of the MLflow registry."""
    from service.cli import context
    from service.store.db import migrated_engine
    from service.store.settings import get_settings

    url = f"sqlite:///{tmp_path / 'quote.db'}"
    monkeypatch.setenv("SAFECREDIT_DATABASE_URL", url)
    get_settings.cache_clear()
    write_world(world, tmp_path / "w", "csv")
    engine = migrated_engine(url)
    with Session(engine) as session, session.begin():
        ingest(session, tmp_path / "w", known_on=END)
    engine.dispose()
    monkeypatch.setattr(context, "scorer", lambda: quoter.scorer)
    yield CliRunner()
    get_settings.cache_clear()


def test_the_command_quotes_one_and_a_book(cli_db: CliRunner, world: World, tmp_path: Path) -> None:
    from service.cli.quote import quote as command

    app = typer.Typer()
    app.command()(command)
    app.command("noop")(lambda: None)  # two commands: typer keeps the subcommand name
    codes = list(world.tables["enterprises"]["uscc"].iloc[:30])
    one = cli_db.invoke(
        app,
        [
            "quote",
            codes[0],
            "--period-start",
            "2026-01-01",
            "--as-of",
            "2025-12-31",
            "--insured-amount",
            "500000",
        ],
    )
    assert one.exit_code == 0, one.output
    assert "premium" in one.output and f"tariff {TARIFF.version}" in one.output
    book = tmp_path / "book.csv"
    pd.DataFrame({"uscc": codes, "honours": ["city"] * 30}).to_csv(book, index=False)
    out = tmp_path / "quotes.csv"
    result = cli_db.invoke(
        app,
        [
            "quote",
            "--book",
            str(book),
            "--period-start",
            "2026-01-01",
            "--as-of",
            "2025-12-31",
            "--insured-amount",
            "400000",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table["uscc"]) == codes and (table["f_honours"] == 0.95).all()
    single = pd.read_csv(out).iloc[0]
    again = cli_db.invoke(
        app,
        [
            "quote",
            codes[0],
            "--period-start",
            "2026-01-01",
            "--as-of",
            "2025-12-31",
            "--insured-amount",
            "400000",
            "--honours",
            "city",
            "--json",
        ],
    )
    assert again.exit_code == 0, again.output
    assert f'"premium_cny": {single["premium_cny"]}' in again.output

    bad = tmp_path / "bad.csv"
    bad.write_text(f"uscc,insured_amount_cny,headcount\n{codes[0]},300000,\n{codes[1]},,-2\n")
    refused = cli_db.invoke(app, ["quote", "--book", str(bad), "--period-start", "2026-01-01"])
    assert refused.exit_code == 2
    assert "bad.csv:2:insured_amount_cny: 300,000 CNY is below the minimum" in refused.output
    assert "bad.csv:3:insured_amount_cny: empty and no --insured-amount given" in refused.output
    assert "bad.csv:3:headcount: -2 must be a whole number from 1 to 10,000,000" in refused.output
    assert "nothing was quoted" in refused.output


@given(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2200, 12, 31)))
def test_a_years_cover_ends_the_day_before_the_date_a_year_on(start: dt.date) -> None:
    """As recorded quotes were priced (pandas' calendar year on, 29 February to the 28th): a
    replay must give the same period end."""
    year_on = pd.Timestamp(start) + pd.DateOffset(years=1)
    assert period_end(start) == (year_on - pd.Timedelta(days=1)).date()
    assert period_end(dt.date(2024, 2, 29)) == dt.date(2025, 2, 27)


def test_score_and_the_book_write_each_format_for_people(
    cli_db: CliRunner, world: World, tmp_path: Path
) -> None:
    import json

    import openpyxl

    from service.cli.main import app

    book = tmp_path / "book.csv"
    codes = list(world.tables["enterprises"]["uscc"].iloc[:12])
    pd.DataFrame({"uscc": codes}).to_csv(book, index=False)
    ask = ["quote", "--book", str(book), "--period-start", "2026-01-01", "--as-of", "2025-12-31"]
    ask += ["--insured-amount", "500000"]
    for ext in ("csv", "xlsx", "json", "parquet"):
        for command in (["score", "--as-of", "2025-12-31"], ask):
            out = tmp_path / f"{command[0]}.{ext}"
            result = cli_db.invoke(app, [*command, "--out", str(out)])
            assert result.exit_code == 0, result.output
            assert f"wrote {out}" in result.output
    for name in ("score", "quote"):
        assert (tmp_path / f"{name}.csv").read_bytes().startswith(b"\xef\xbb\xbf")
        by_csv = pd.read_csv(tmp_path / f"{name}.csv", encoding="utf-8-sig")
        by_parquet = pd.read_parquet(tmp_path / f"{name}.parquet")
        assert by_csv["uscc"].tolist() == by_parquet["uscc"].tolist()
        records = json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))
        assert [r["uscc"] for r in records] == by_csv["uscc"].tolist()
        sheet = openpyxl.load_workbook(tmp_path / f"{name}.xlsx", read_only=True).active
        rows = list(sheet.iter_rows(values_only=True))
        assert list(rows[0]) == list(by_parquet.columns) and len(rows) == len(by_parquet) + 1
        assert [r[0] for r in rows[1:]] == by_csv["uscc"].tolist()
    scores = pd.read_parquet(tmp_path / "score.parquet")
    sheet = openpyxl.load_workbook(tmp_path / "score.xlsx", read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    zh = rows[0].index("reason1_zh")
    # the Chinese read back (an empty text is an empty cell)
    assert [r[zh] or "" for r in rows[1:]] == scores["reason1_zh"].tolist()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in rows[1][zh])
    points = rows[0].index("reason1_points")
    assert isinstance(rows[1][points], float | int)  # numbers stay numbers (negative ones too)
    by_csv = pd.read_csv(tmp_path / "score.csv", encoding="utf-8-sig", keep_default_na=False)
    assert by_csv["reason1_zh"].tolist() == scores["reason1_zh"].tolist()


@pytest.mark.parametrize(
    "command",
    [
        ["score", "--as-of", "2025-12-31"],
        ["quote", "--book", "book.csv", "--period-start", "2026-01-01"],
    ],
)
@pytest.mark.parametrize("out", ["scores.xls", "scores.txt", "folder"])
def test_an_unknown_extension_is_refused_before_the_model_loads(
    command: list[str], out: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.cli import context, main

    def no_model() -> None:
        raise AssertionError("the model was loaded before --out was checked")

    monkeypatch.setattr(context, "scorer", no_model)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "book.csv").write_text("uscc\n91140100000000001X\n")
    result = CliRunner().invoke(main.app, [*command, "--out", out], env={"COLUMNS": "300"})
    assert result.exit_code == 2, result.output
    assert "allowed are .csv, .xlsx, .json, .parquet" in result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.csv"]
