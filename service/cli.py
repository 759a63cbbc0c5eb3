"""The ``safecredit`` command line."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.settings import get_settings

app = typer.Typer(
    help="Work-safety credit scores, floating insurance rates and the joint-punishment registry.",
    no_args_is_help=True,
    add_completion=False,
)


def engine() -> Engine:
    """The configured database, migrated to the newest schema."""
    from service.db import make_engine, upgrade

    settings = get_settings()
    eng = make_engine(settings.database.url, echo=settings.database.echo)
    upgrade(eng)
    return eng


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="folder to write the tables and truth.csv into")],
    enterprises: Annotated[int, typer.Option(min=1, help="how many enterprises")] = 2_000,
    years: Annotated[int, typer.Option(min=1, max=30, help="years of history")] = 5,
    seed: Annotated[int, typer.Option(help="random seed; the same seed gives the same world")] = 7,
    end: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="last day of the history")
    ] = None,
    format: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
) -> None:
    """Write a synthetic province: the history tables and truth.csv (true accident risk)."""
    from experiments.simulate import simulate as run
    from experiments.simulate import write_world

    if format not in ("csv", "parquet"):
        raise typer.BadParameter("--format must be csv or parquet")
    kwargs = {"end": end.date()} if end else {}
    world = run(enterprises, years, seed, progress=sys.stderr.isatty(), **kwargs)
    write_world(world, out, format)  # type: ignore[arg-type]
    sizes = ", ".join(f"{name} {len(frame):,}" for name, frame in world.tables.items())
    typer.echo(f"wrote {out}: {sizes}")


@app.command()
def ingest(
    folder: Annotated[Path, typer.Argument(help="folder with enterprises.csv, accidents.csv, …")],
    known_on: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="the extract's date (default today)"),
    ] = None,
    uscc_check: Annotated[
        str | None,
        typer.Option(help="strict: a wrong check character is an error; warn: a warning"),
    ] = None,
    allow_list: Annotated[
        Path | None, typer.Option(help="file of USCCs accepted despite a wrong check character")
    ] = None,
) -> None:
    """Validate an extract folder and load it, all or nothing; loading it again changes nothing."""
    from features.extract import ExtractError
    from features.ingest import IngestError
    from features.ingest import ingest as load
    from features.uscc import CheckMode
    from features.uscc import allow_list as read_allow_list
    from features.validate import problem_lines

    settings = get_settings().ingest
    mode = CheckMode(uscc_check or settings.uscc_check)
    allowed_file = allow_list or settings.uscc_allow_list
    allowed = (
        read_allow_list(allowed_file.read_text().splitlines()) if allowed_file else frozenset()
    )
    with Session(engine()) as session:
        try:
            with session.begin():
                report = load(
                    session,
                    folder,
                    known_on=known_on.date() if known_on else None,
                    check_mode=mode,
                    allow_list=allowed,
                    progress=sys.stderr.isatty(),
                )
        except (IngestError, ExtractError) as exc:
            for line in problem_lines(exc.problems, settings.max_problems):
                typer.echo(line, err=True)
            typer.echo(f"refused: {len(exc.problems)} problem(s); nothing was loaded", err=True)
            raise typer.Exit(2) from None
    for line in problem_lines(report.warnings, settings.max_problems):
        typer.echo(f"warning: {line}", err=True)
    typer.echo(f"{'table':<12} {'new':>10} {'changed':>10} {'unchanged':>10}")
    for name, c in report.counts.items():
        typer.echo(f"{name:<12} {c['new']:>10,} {c['changed']:>10,} {c['unchanged']:>10,}")
    if report.load_id is None:
        typer.echo("nothing new: the store already holds this extract")
    else:
        typer.echo(
            f"load {report.load_id}: {report.written:,} record versions as known on "
            f"{report.known_on}"
        )


def main() -> None:
    app()
