"""The ``safecredit`` command line."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from service.cli import context, serving
from service.cli.choices import CHECK_MODES, ENCODINGS, ENGINES, WORLD_FORMATS
from service.cli.context import engine, get_settings
from service.cli.files import table_file_or_folder
from service.cli.keys import app as keys_app
from service.cli.ledger import app as ledger_app
from service.cli.monitor import monitor
from service.cli.notify import app as notify_app
from service.cli.plan import app as plan_app
from service.cli.progress import Progress, bar, steps
from service.cli.quote import quote
from service.cli.registry import app as registry_app
from service.cli.spark import check_engine, export_history

SCORE_CHUNK = 5_000  # enterprises scored together between two moves of the progress bar
app = typer.Typer(
    help="Work-safety credit scores, floating insurance rates and the joint-punishment registry.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(registry_app, name="registry")
app.add_typer(keys_app, name="keys")
app.add_typer(ledger_app, name="ledger")
app.add_typer(notify_app, name="notify")
app.add_typer(plan_app, name="plan")
app.command()(quote)
app.command()(monitor)
app.command("export-history")(export_history)


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="folder to write the tables and truth.csv into")],
    enterprises: Annotated[int, typer.Option(min=1, help="how many enterprises")] = 2_000,
    years: Annotated[int, typer.Option(min=1, max=30, help="years of history")] = 5,
    seed: Annotated[int, typer.Option(help="random seed; the same seed gives the same world")] = 7,
    end: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="last day of the history")
    ] = None,
    format: Annotated[
        Literal[WORLD_FORMATS],  # type: ignore[valid-type]
        typer.Option("--format", help="file format"),
    ] = "csv",
    only: Annotated[
        str | None,
        typer.Option(
            help="a partial extract: these tables only, comma-separated (enterprises always), "
            "e.g. violations,accidents"
        ),
    ] = None,
) -> None:
    """Write a synthetic province: the history tables, truth.csv (true accident risk) and a
    manifest.json with every file's rows and sha256."""
    from experiments.simulate import simulate as run
    from experiments.simulate import write_world

    kwargs = {"end": end.date()} if end else {}
    tables = [t.strip() for t in only.split(",") if t.strip()] if only else None
    from features.contracts import TABLES

    if tables and set(tables) - set(TABLES):
        unknown = sorted(set(tables) - set(TABLES))
        raise typer.BadParameter(
            f"--only: not history tables: {unknown}; choose from {list(TABLES)}"
        )
    world = run(enterprises, years, seed, progress=sys.stderr.isatty(), **kwargs)
    if tables:
        world = world.partial(tables)
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
        Literal[CHECK_MODES] | None,  # type: ignore[valid-type]
        typer.Option(
            help="strict: a wrong check character is an error; warn: a warning (settings)",
        ),
    ] = None,
    allow_list: Annotated[
        Path | None, typer.Option(help="file of USCCs accepted despite a wrong check character")
    ] = None,
    encoding: Annotated[
        Literal[ENCODINGS],  # type: ignore[valid-type]
        typer.Option(
            case_sensitive=False,
            help="encoding of the CSV files (utf-8: a BOM is accepted)",
        ),
    ] = "utf-8",
    require_manifest: Annotated[
        bool,
        typer.Option(help="refuse a folder without manifest.json (it is checked whenever present)"),
    ] = False,
) -> None:
    """Validate an extract folder and load it, all or nothing; loading it again changes nothing."""
    from sqlalchemy.orm import Session

    from features.extract import Encoding, ExtractError
    from features.ingest import IngestError
    from features.ingest import ingest as load
    from features.uscc import CheckMode
    from features.uscc import allow_list as read_allow_list
    from features.validate import problem_lines

    settings = get_settings().ingest
    if encoding.lower() not in {e.value for e in Encoding}:
        raise typer.BadParameter(f"--encoding must be utf-8 or gb18030, not {encoding!r}")
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
                    encoding=Encoding(encoding.lower()),
                    require_manifest=require_manifest,
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


@app.command()
def train(
    end: Annotated[
        dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="the last day of the data to use")
    ],
    truth: Annotated[
        Path | None, typer.Option(help="truth.csv of a simulated province: also report the oracle")
    ] = None,
    seed: Annotated[int, typer.Option(help="LightGBM's seed")] = 7,
    progress: Progress = None,
) -> None:
    """Train the risk model and its baselines on time-based splits, log everything to MLflow,
    register it, and move the champion alias only if it passes the gates."""
    import pandas as pd
    from sqlalchemy.orm import Session

    from features.store import read_history
    from models.pipeline import train as run

    settings = get_settings().mlflow
    with Session(engine()) as session:
        history = read_history(session)
    say, counter = steps(progress, "training")
    try:
        result = run(
            history,
            end=end.date(),
            tracking_uri=settings.tracking_uri,
            artifact_root=settings.artifact_root,
            experiment=settings.experiment,
            model_name=settings.model_name,
            alias=settings.alias,
            truth=pd.read_csv(truth) if truth else None,
            seed=seed,
            say=say,
        )
    except ValueError as exc:
        counter.close()
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from None
    counter.close()
    typer.echo(
        f"{settings.model_name} version {result.version} is now the {result.alias} "
        f"(run {result.run_id})"
    )
    for reason in result.gates.reasons:
        typer.echo(f"  gate: {reason}")


@app.command()
def score(
    as_of: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="score as of this day")],
    out: Annotated[
        Path,
        typer.Option(
            help="output: a .csv, .xlsx, .json or .parquet file (pandas), a Parquet folder (spark)",
            callback=table_file_or_folder,
        ),
    ],
    engine_name: Annotated[
        Literal[ENGINES],  # type: ignore[valid-type]
        typer.Option(
            "--engine",
            help="pandas: this machine, from the database; spark: from export-history",
        ),
    ] = "pandas",
    master: Annotated[
        str | None,
        typer.Option(help="Spark master: local[N], spark://host:7077, yarn, k8s://… (settings)"),
    ] = None,
    history: Annotated[
        Path | None, typer.Option(help="export-history folder for --engine spark (settings)")
    ] = None,
    progress: Progress = None,
) -> None:
    """Score every enterprise with the champion model: probability, score, grade, reasons,
    recourse, overrides and versions. Both engines give the same answers."""
    from sqlalchemy.orm import Session

    from features.files import write_table
    from service.engine.decisions import frame, score_batch

    check_engine(engine_name, out)
    scorer = context.scorer()
    if engine_name == "spark":
        from service.cli.spark import score_on_spark

        counts = score_on_spark(scorer, as_of=as_of.date(), out=out, master=master, history=history)
    else:
        import pandas as pd

        from features.store import read_history

        day = as_of.date()
        with Session(engine()) as session:
            events = read_history(session)
            codes = list(events.table_at("enterprises", day)["uscc"])
            parts = []
            with bar(progress, total=len(codes), unit="enterprise", desc="scoring") as shown:
                for first in range(0, max(len(codes), 1), SCORE_CHUNK):
                    chunk = codes[first : first + SCORE_CHUNK]
                    batch = score_batch(session, scorer, as_of=day, usccs=chunk, history=events)
                    parts.append(frame(scorer, batch))
                    shown.update(len(chunk))
        table = pd.concat(parts, ignore_index=True)
        write_table(table, out)
        counts = table["grade"].value_counts().to_dict()
    typer.echo(
        f"wrote {out}: {sum(counts.values()):,} enterprises; grades "
        + ", ".join(f"{g} {counts.get(g, 0):,}" for g in ("A", "B", "C", "D"))
    )


@app.command()
def demo(
    enterprises: Annotated[
        int, typer.Option(min=100, help="size of the simulated province")
    ] = 3_000,
    years: Annotated[int, typer.Option(min=2, max=20, help="years of history")] = 5,
    seed: Annotated[int, typer.Option(help="random seed of the province")] = 7,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="start the service at the end")
    ] = True,
    port: Annotated[int, typer.Option(help="port for the service")] = 8000,
) -> None:
    """The whole product on embedded defaults: simulate a province, load it, train and register
    the champion model, list what the rules find, score everyone; then serve on 127.0.0.1."""
    from experiments import demo as steps

    eng = engine()
    table = steps.run(
        eng,
        get_settings(),
        enterprises=enterprises,
        years=years,
        seed=seed,
        say=typer.echo,
    )
    steps.access(eng, table, port, say=typer.echo)
    if serve_after:
        typer.echo(f"service: http://127.0.0.1:{port}/docs  (health: /healthz, readiness: /readyz)")
        # score books for the demo's day and today, unless the environment names others
        days = json.dumps([steps.AS_OF.isoformat(), "today"])
        os.environ.setdefault("SAFECREDIT_SERVICE__BOOK_DAYS", days)
        from service.store.settings import get_settings as cached

        cached.cache_clear()
        serve(host="127.0.0.1", port=port, workers=1)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="uvicorn worker processes, one per core (SO_REUSEPORT)")
    ] = 1,
) -> None:
    """Run the HTTP service (OpenAPI at /docs). On a loopback address the pages' cookies may go
    over plain HTTP (``SAFECREDIT_SERVICE__PLAIN_HTTP=false`` to insist on HTTPS); elsewhere
    they are Secure: serve behind HTTPS."""
    import uvicorn

    if host in ("127.0.0.1", "::1", "localhost"):
        os.environ.setdefault("SAFECREDIT_SERVICE__PLAIN_HTTP", "true")
        from service.store.settings import get_settings as cached

        cached.cache_clear()

    engine().dispose()  # migrate before the workers start
    if workers == 1:
        uvicorn.run(serving.APP, factory=True, host=host, port=port)
        return
    # each worker on a socket of its own on the port: connections spread evenly
    raise typer.Exit(serving.run(host, port, workers))


def main() -> None:
    app()
