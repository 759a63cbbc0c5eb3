"""``safecredit export-history`` and the Spark engine behind ``score --engine spark`` and
``quote --book … --engine spark``.

Registered in :mod:`service.cli.main` with ``app.command("export-history")(export_history)``.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from service.cli.choices import ENGINES
from service.cli.context import engine, get_settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


SUCCESS = "_SUCCESS"  # the marker Spark leaves in a folder it wrote


def export_history(
    out: Annotated[
        Path | None, typer.Option(help="export folder (default: SAFECREDIT_SPARK__HISTORY_DIR)")
    ] = None,
    buckets: Annotated[
        int | None, typer.Option(min=1, help="hash buckets of the USCC (default: settings)")
    ] = None,
) -> None:
    """Write the event store as Parquet for `--engine spark`: one dataset per table,
    partitioned by a hash bucket of the USCC, every version with known_from and version_id.
    A re-run replaces the previous export whole."""
    from sqlalchemy.orm import Session

    from features.contracts import TABLES
    from features.export import ExportError, write_export
    from features.store import stream_versions

    settings = get_settings().spark
    target = out or settings.history_dir
    count = buckets or settings.export_buckets
    with Session(engine()) as session:
        blocks = {name: stream_versions(session, name) for name in TABLES}
        try:
            manifest = write_export(target, blocks, buckets=count, progress=sys.stderr.isatty())
        except ExportError as exc:
            typer.echo(f"refused: {exc}", err=True)
            raise typer.Exit(2) from None
    sizes = ", ".join(f"{name} {rows:,}" for name, rows in manifest.rows.items())
    typer.echo(f"wrote {target}: {count} buckets; {sizes}")


def check_engine(engine: str, out: Path | None) -> None:
    if engine not in ENGINES:
        raise typer.BadParameter(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "pandas" and out is not None and (out.is_dir() or not out.suffix):
        from features.files import FORMATS

        raise typer.BadParameter(
            f"--engine pandas writes one file: {out} has no extension; the extensions allowed "
            f"are {', '.join(FORMATS)}"
        )
    if engine == "spark" and out is not None:
        if out.suffix not in ("", ".parquet"):
            raise typer.BadParameter("--engine spark writes Parquet: give --out a .parquet path")
        if out.exists() and not (
            out.is_dir() and (not any(out.iterdir()) or (out / SUCCESS).exists())
        ):
            raise typer.BadParameter(
                f"{out} exists and is not Spark output; refusing to replace it"
            )


def _history_folder(history: Path | None) -> Path:
    from features.export import ExportError, read_manifest

    folder = history or get_settings().spark.history_dir
    try:
        read_manifest(folder)
    except ExportError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from None
    return folder


@contextmanager
def _spark(master: str | None) -> Iterator[SparkSession]:
    """The configured session; stopped at the end unless it was running already."""
    from pyspark.sql import SparkSession

    from service.engine.spark_batch import spark_session

    running = SparkSession.getActiveSession()
    spark = spark_session(get_settings().spark, master=master)
    try:
        yield spark
    finally:
        if running is None:
            spark.stop()


def _listings(dates: list[dt.date]) -> Any:
    from sqlalchemy.orm import Session

    from registry.index import index_for

    with Session(engine()) as session:
        return index_for(session).snapshot(dates)


def score_on_spark(
    scorer: Any, *, as_of: dt.date, out: Path, master: str | None, history: Path | None
) -> dict[str, int]:
    """Score the export on Spark into the Parquet folder ``out``; grade counts."""
    from service.engine.spark_batch import score_spark

    folder = _history_folder(history)
    listings = _listings([as_of])
    with _spark(master) as spark:
        table = score_spark(
            spark, scorer, listings, folder, as_of=as_of, groups=get_settings().spark.groups
        )
        table.write.mode("overwrite").parquet(str(out))
        counts = spark.read.parquet(str(out)).groupBy("grade").count().collect()
    return {str(r["grade"]): int(r["count"]) for r in counts}


def quote_on_spark(
    quoter: Any, requests: list[Any], *, out: Path, master: str | None, history: Path | None
) -> tuple[int, float]:
    """Quote a book on Spark into the Parquet folder ``out``; (quotes, total premium)."""
    from pyspark.sql import functions as F

    from service.engine.spark_batch import quotes_spark

    folder = _history_folder(history)
    listings = _listings(sorted({r.when for r in requests}))
    with _spark(master) as spark:
        table = quotes_spark(
            spark, quoter, listings, folder, requests, groups=get_settings().spark.groups
        )
        table.write.mode("overwrite").parquet(str(out))
        done = spark.read.parquet(str(out)).agg(F.count("*"), F.sum("premium_cny")).first()
    assert done is not None
    return int(done[0]), float(done[1] or 0.0)
