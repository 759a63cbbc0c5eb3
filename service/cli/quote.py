"""``safecredit quote``: one enterprise, or a renewal book from a CSV file with a progress bar.

Registered in :mod:`service.cli.main` with ``app.command()(quote)``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from service.cli.choices import ENGINES, HONOURS
from service.cli.files import table_file

BOOK_COLUMNS = ("uscc", "insured_amount_cny", "headcount", "honours", "previous_rate")
CHUNK = 1_000  # enterprises scored and priced together


def read_book(
    path: Path,
    tariff: Any,
    *,
    period_start: dt.date,
    as_of: dt.date | None,
    insured_amount: float | None,
    honours: str,
) -> list[Any]:
    """Quote requests from a CSV book: ``uscc`` and optionally ``insured_amount_cny``,
    ``headcount``, ``honours``, ``previous_rate``, ``period_start``, ``as_of`` (an empty cell or
    an absent column takes the command's option). Every problem is reported as
    ``file:row:column: reason`` (header = line 1), all of them before anything is quoted."""
    import pandas as pd

    from service.engine.quotes import QuoteError, QuoteRequest, check

    try:
        book = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise QuoteError([f"{path.name}: cannot be read as CSV: {exc}"]) from None
    if "uscc" not in book.columns:
        raise QuoteError([f"{path.name}: missing column uscc"])
    problems: list[str] = []
    requests = []
    for i, row in enumerate(book.to_dict("records")):
        where = f"{path.name}:{i + 2}"
        found: dict[str, str] = {}  # column → problem, one per column

        def cell(name: str, row: dict[str, str] = row) -> str:
            return str(row.get(name, "")).strip()

        def number(name: str, default: float | None, found: dict[str, str] = found) -> float | None:
            text = cell(name)
            if not text:
                return default
            try:
                value = float(text)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                found[name] = f"{text!r} is not a number"
            return value

        amount = number("insured_amount_cny", insured_amount)
        if amount is None:
            found["insured_amount_cny"] = "empty and no --insured-amount given"
        headcount = number("headcount", None)
        if headcount is not None and math.isfinite(headcount) and headcount != int(headcount):
            found["headcount"] = f"{cell('headcount')!r} is not a whole number"
        dates: dict[str, dt.date | None] = {"period_start": period_start, "as_of": as_of}
        for name in dates:
            if cell(name):
                try:
                    dates[name] = dt.date.fromisoformat(cell(name))
                except ValueError:
                    found[name] = f"{cell(name)!r} is not a date (yyyy-mm-dd)"
        request = QuoteRequest(
            uscc=cell("uscc").upper(),
            insured_amount_cny=math.nan if amount is None else amount,
            period_start=dates["period_start"] or period_start,
            as_of=dates["as_of"],
            headcount=None if headcount is None or not math.isfinite(headcount) else int(headcount),
            honours=cell("honours") or honours,
            previous_rate=number("previous_rate", None),
        )
        try:
            check(tariff, [request])
        except QuoteError as exc:
            for problem in exc.problems:
                found.setdefault(problem.split(":")[0], problem.split(": ", 1)[1])
        problems.extend(f"{where}:{name}: {reason}" for name, reason in found.items())
        requests.append(request)
    if problems:
        raise QuoteError(problems)
    return requests


def quote(
    uscc: Annotated[
        str | None, typer.Argument(help="the enterprise's USCC (or use --book)")
    ] = None,
    period_start: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="first day of the insurance year"),
    ] = None,
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="what is known on this day (default: the start)"),
    ] = None,
    insured_amount: Annotated[
        float | None, typer.Option(help="death/disability limit per person, CNY (≥ 400,000)")
    ] = None,
    headcount: Annotated[
        int | None, typer.Option(help="insured persons (default: the enterprise record)")
    ] = None,
    honours: Annotated[
        Literal[HONOURS],  # type: ignore[valid-type]
        typer.Option(help="safety honours"),
    ] = "none",
    previous_rate: Annotated[
        float | None, typer.Option(help="last year's rate ‰, for the renewal cap")
    ] = None,
    book: Annotated[
        Path | None,
        typer.Option(help="CSV renewal book: uscc[, insured_amount_cny, headcount, honours, …]"),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="book output: .csv, .xlsx, .json or .parquet (a Parquet folder for spark)",
            callback=table_file,
        ),
    ] = None,
    tariff: Annotated[
        str, typer.Option(help="tariff file, or a stem under models/policies/")
    ] = "tariff-2026.2",
    as_json: Annotated[bool, typer.Option("--json", help="print the full quote as JSON")] = False,
    engine_name: Annotated[
        Literal[ENGINES],  # type: ignore[valid-type]
        typer.Option(
            "--engine",
            help="for a book: pandas (this machine) or spark",
        ),
    ] = "pandas",
    master: Annotated[
        str | None, typer.Option(help="Spark master for --engine spark (settings)")
    ] = None,
    history_dir: Annotated[
        Path | None,
        typer.Option("--history", help="export-history folder for --engine spark (settings)"),
    ] = None,
) -> None:
    """Quote the floating 安全生产责任保险 rate and premium: base rate × factors (model risk by
    credibility, last year's accidents, standardization, honours, listing), clamped to the
    tariff's band, with each factor's reason and the versions."""
    from sqlalchemy.orm import Session
    from tqdm import tqdm

    from features.files import write_table
    from features.store import read_history
    from models.policy import PolicyFileError
    from models.tariff import load_tariff
    from service.cli import context
    from service.cli.spark import check_engine
    from service.engine.quotes import (
        QuoteError,
        Quoter,
        QuoteRequest,
        UnknownEnterprise,
        check,
        frame,
    )
    from service.engine.quotes import quote as run

    if (uscc is None) == (book is None):
        raise typer.BadParameter("give either a USCC or --book, not both")
    if period_start is None:
        raise typer.BadParameter("--period-start is required (yyyy-mm-dd)")
    check_engine(engine_name, out)
    if engine_name == "spark" and book is None:
        raise typer.BadParameter("--engine spark quotes a --book")
    try:
        chosen = load_tariff(tariff)
    except PolicyFileError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from None
    start, when = period_start.date(), as_of.date() if as_of else None
    try:
        if book is not None:
            requests = read_book(
                book,
                chosen,
                period_start=start,
                as_of=when,
                insured_amount=insured_amount,
                honours=honours,
            )
        else:
            assert uscc is not None
            requests = [
                QuoteRequest(
                    uscc=uscc.strip().upper(),
                    insured_amount_cny=insured_amount if insured_amount is not None else math.nan,
                    period_start=start,
                    as_of=when,
                    headcount=headcount,
                    honours=honours,
                    previous_rate=previous_rate,
                )
            ]
            check(chosen, requests)  # every argument checked before the model loads
        quoter = Quoter(context.scorer(), chosen)
        if engine_name == "spark":
            assert book is not None
            _book_on_spark(quoter, requests, book, out, master, history_dir)
            return
        quotes = []
        with Session(context.engine()) as session:
            history = read_history(session, usccs={r.uscc for r in requests})
            bar = tqdm(
                total=len(requests), unit="quote", disable=book is None or not sys.stderr.isatty()
            )
            for first in range(0, len(requests), CHUNK):
                chunk = requests[first : first + CHUNK]
                quotes.extend(run(session, quoter, chunk, history=history))
                bar.update(len(chunk))
            bar.close()
    except (QuoteError, UnknownEnterprise) as exc:
        for line in getattr(exc, "problems", [exc.detail]):
            typer.echo(line, err=True)
        typer.echo("refused: nothing was quoted", err=True)
        raise typer.Exit(2) from None
    if book is not None:
        table = frame(quotes)
        target = out or book.with_name(f"{book.stem}-quotes.csv")
        write_table(table, target)
        typer.echo(
            f"wrote {target}: {len(table):,} quotes, premium {table['premium_cny'].sum():,.2f} "
            f"CNY in total; tariff {chosen.label}, model {quoter.scorer.loaded.version}"
        )
        return
    q = quotes[0]
    if as_json:
        typer.echo(json.dumps(q.as_dict(), ensure_ascii=False, default=str, indent=2))
        return
    _print(q, chosen)


def _book_on_spark(
    quoter: Any,
    requests: list[Any],
    book: Path,
    out: Path | None,
    master: str | None,
    history: Path | None,
) -> None:
    from service.cli.spark import quote_on_spark

    target = out or book.with_name(f"{book.stem}-quotes.parquet")
    count, premium = quote_on_spark(quoter, requests, out=target, master=master, history=history)
    typer.echo(
        f"wrote {target}: {count:,} quotes, premium {premium:,.2f} CNY in total; tariff "
        f"{quoter.tariff.label}, model {quoter.scorer.loaded.version}"
    )


def _print(q: Any, tariff: Any) -> None:
    typer.echo(
        f"{q.uscc}  {q.industry} ({'compulsory' if q.compulsory else 'voluntary'}), "
        f"{q.headcount} persons ({q.headcount_source}), size band {q.size_band}"
    )
    typer.echo(
        f"period {q.period_start} – {q.period_end}, as of {q.as_of}; insured "
        f"{q.insured_amount_cny:,.0f} CNY per person"
    )
    typer.echo(f"base rate            {q.base_rate:.4f} ‰")
    for f in q.factors:
        typer.echo(f"  × {f.multiplier:.3f}  {f.en}")
    for r in q.reasons:
        typer.echo(f"      reason: {r['en']} ({r['points']:+.0f} points)")
    typer.echo(
        f"product {q.product:.4f} → {q.product_banded:.4f} within band {q.band[0]}–{q.band[1]}"
    )
    from service.engine.quote_book import limit_applied

    renewal = tariff.renewal
    limit = limit_applied(
        {**q.as_dict(), "band": q.band},
        renewal.max_increase if renewal else None,
        renewal.max_decrease if renewal else None,
    )
    shown = "" if limit.code == "none" else f" ({limit.en})"
    typer.echo(f"rate                 {q.rate:.4f} ‰{shown}")
    typer.echo(f"premium              {q.premium_cny:,.2f} CNY")
    typer.echo("versions: " + ", ".join(f"{k} {v}" for k, v in q.versions.items()))
