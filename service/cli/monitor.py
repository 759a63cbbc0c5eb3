"""``safecredit monitor``: did the grades come true? A report on the champion and the tariff
(HTML with its plots, JSON, an MLflow run), exiting 1 when a threshold of the monitoring policy
is exceeded so that a scheduler notices.

Registered in :mod:`service.cli.main` with ``app.command()(monitor)``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from service.cli.progress import Progress, steps

BREACHED = 1  # exit code when a threshold is exceeded
REFUSED = 2


def report_dir(var_dir: Path) -> Path:
    """Where reports are written by default (and where the regulator's desk looks)."""
    return var_dir / "monitor"


def monitor(
    as_of: Annotated[
        dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="the report's date: what is known")
    ],
    since: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="first book date (default: the policy's years)"),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="folder for the HTML and JSON (default var/monitor)")
    ] = None,
    policy_file: Annotated[
        Path | None, typer.Option("--policy", help="monitoring policy TOML (default 2026.1)")
    ] = None,
    mlflow_run: Annotated[
        bool, typer.Option("--mlflow/--no-mlflow", help="log the report as an MLflow run")
    ] = True,
    progress: Progress = None,
) -> None:
    """Realised accident rates by grade and score band with Wilson intervals, calibration over
    time, AUC and KS by quarter, grade migration, PSI against the training data and loss ratios
    by tariff band; exit 1 when a threshold of the monitoring policy is exceeded."""
    from sqlalchemy.orm import Session

    from models.monitor.html import render
    from models.monitor.policy import load_monitor_policy
    from models.policy import PolicyFileError
    from service.cli.context import engine, get_settings
    from service.cli.context import scorer as champion_scorer
    from service.engine.monitor_run import MonitorError, gather
    from service.store.db import unhurried

    settings = get_settings()
    try:
        policy = load_monitor_policy(policy_file) if policy_file else load_monitor_policy()
    except (PolicyFileError, OSError) as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(REFUSED) from None
    scorer = champion_scorer()
    say, counter = steps(progress, "monitor")
    try:
        with Session(engine()) as session, session.begin(), unhurried(session):
            report = gather(
                session,
                scorer,
                policy,
                as_of=as_of.date(),
                since=since.date() if since else None,
                tracking_uri=settings.mlflow.tracking_uri,
                say=say,
            )
    except MonitorError as exc:
        counter.close()
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(REFUSED) from None
    folder = out or report_dir(settings.var_dir)
    folder.mkdir(parents=True, exist_ok=True)
    html_path = folder / f"monitor-{report.as_of}.html"
    json_path = folder / f"monitor-{report.as_of}.json"
    say("writing the report …")
    html_path.write_text(render(report), encoding="utf-8")
    json_path.write_text(json.dumps(report.as_dict(), ensure_ascii=False, indent=1) + "\n")
    run_id = None
    if mlflow_run:
        from models.monitor.tracking import log_report

        m = settings.mlflow
        run_id = log_report(
            report,
            [html_path, json_path],
            tracking_uri=m.tracking_uri,
            artifact_root=m.artifact_root,
            experiment=m.experiment,
        )
    counter.close()
    typer.echo(f"wrote {html_path} and {json_path}" + (f" (MLflow run {run_id})" if run_id else ""))
    if report.breaches:
        typer.echo(f"{len(report.breaches)} threshold(s) exceeded:", err=True)
        for line in report.breaches:
            typer.echo(f"  {line}", err=True)
        raise typer.Exit(BREACHED)
    typer.echo("no threshold exceeded")
