"""What ``safecredit registry`` and ``safecredit ledger`` share for their chains: verify with
checkpoints, write a checkpoint, print the public key. Problems are named, one a line, and exit
with status 1; nothing stored or given makes them crash."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from registry.hashchain import ChainReport

Checkpoints = Annotated[
    list[Path] | None,
    typer.Option(help="a checkpoint written earlier (repeat the option for several)"),
]


def _run(work: Callable[[Session], Any]) -> Any:
    from sqlalchemy.orm import Session

    from registry.seal import SealError
    from service.store.db import migrated_engine, signing_key
    from service.store.settings import get_settings

    try:
        signing_key()
    except SealError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(1) from exc
    engine = migrated_engine(get_settings().database.url)
    try:
        with Session(engine) as session, session.begin():
            return work(session)
    finally:
        engine.dispose()


def _load(paths: list[Path]) -> dict[str, Any]:
    """Each checkpoint file's JSON by file name (``None`` when unreadable: named by verify)."""
    found: dict[str, Any] = {}
    for path in paths:
        try:
            found[str(path)] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            typer.echo(f"checkpoint {path}: unreadable: {exc}", err=True)
            found[str(path)] = None
    return found


def report_chain(
    verify: Callable[[Session, dict[str, Any]], ChainReport], checkpoints: list[Path] | None
) -> None:
    found = _load(checkpoints or [])
    report: ChainReport = _run(lambda session: verify(session, found))
    for problem in report.problems:
        typer.echo(str(problem), err=True)
    verdict = "ok" if report.ok else f"{len(report.problems)} problem(s)"
    extra = f", {len(found)} checkpoint(s)" if found else ""
    typer.echo(
        f"{report.chain} chain length {report.length}, head {report.head_hash}{extra}: {verdict}"
    )
    if not report.ok:
        raise typer.Exit(1)


def write_checkpoint(take: Callable[[Session], dict[str, Any]], out: Path | None) -> None:
    try:
        document = _run(take)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        typer.echo("refused: the chain does not verify; no checkpoint written", err=True)
        raise typer.Exit(1) from exc
    text = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    if out is None:
        typer.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(out)
    typer.echo(f"{document['chain']} checkpoint at length {document['length']}: {out}", err=True)


def public_key() -> None:
    """Print the public key checkpoints and chain heads are signed with (PEM), and its id."""
    from registry.seal import SealError
    from service.store.db import signing_key

    try:
        sealer = signing_key()
    except SealError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(sealer.public_pem, nl=False)
    typer.echo(f"key id {sealer.key_id}", err=True)
