"""``safecredit notify …``: the delivery worker (``run``), and watchlists and webhooks managed
for a key by its id (the operator's command line; keys manage their own over HTTP)."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from service.engine.errors import ServiceError
from service.store.settings import get_settings

if TYPE_CHECKING:  # the modules behind the commands load when a command runs, not for --help
    from sqlalchemy.orm import Session

    from service.engine.keys import Principal

app = typer.Typer(help="Watchlists and change notifications: the webhook worker.")
watch_app = typer.Typer(help="Watchlists of USCCs, kept for a key.")
app.add_typer(watch_app, name="watch")
KeyOpt = Annotated[str, typer.Option("--key-id", help="the key the watchlist belongs to")]
FileOpt = Annotated[
    Path | None, typer.Option("--file", help="codes, one a line (besides any given as arguments)")
]


def _session() -> Session:
    from sqlalchemy.orm import Session

    from service.store.db import migrated_engine

    return Session(migrated_engine(get_settings().database.url), expire_on_commit=False)


def _principal(session: Session, key_id: str) -> Principal:
    from service.engine.keys import principal_of
    from service.store.tables import ApiKey

    row = session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        typer.echo(f"refused: no active key {key_id!r}", err=True)
        raise typer.Exit(2)
    return principal_of(row)


def _codes(codes: list[str] | None, file: Path | None) -> list[str]:
    out = list(codes or [])
    if file is not None:
        out += [
            line.strip() for line in file.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
    return out


def _refused(exc: ServiceError) -> typer.Exit:
    typer.echo(f"refused: {exc.detail}", err=True)
    return typer.Exit(2 if exc.status == 422 else 1)


@app.command()
def run(
    once: Annotated[bool, typer.Option(help="stop when nothing is due")] = False,
    batch: Annotated[int | None, typer.Option(min=1, help="deliveries claimed at a time")] = None,
) -> None:
    """Deliver events to webhooks until stopped (SIGTERM or Ctrl-C finish the delivery in hand;
    its lease lets another worker take the rest). Several may run at once."""
    from service.engine.notify.worker import Worker

    settings = get_settings()
    notify = (
        settings.notify if batch is None else settings.notify.model_copy(update={"batch": batch})
    )
    from service.store.db import migrated_engine, sessions

    engine = migrated_engine(settings.database.url)
    worker = Worker(sessions(engine), notify, time_zone=settings.registry.time_zone)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: worker.stop())
    typer.echo(f"notify worker {worker.name}: running", err=True)
    done = worker.run(once=once)
    typer.echo(
        f"notify worker {worker.name}: {done.sent} sent, {done.delivered} delivered, "
        f"{done.failed} failed, {done.fanned} deliveries made, {done.expiries} expiries derived",
        err=True,
    )
    engine.dispose()


@watch_app.command("create")
def create(
    key_id: KeyOpt,
    name: Annotated[str, typer.Option(help="a name unique for the key")],
    codes: Annotated[list[str] | None, typer.Argument(help="USCCs")] = None,
    file: FileOpt = None,
) -> None:
    """A new watchlist for the key."""
    from service.engine.notify import watch

    with _session() as session:
        try:
            with session.begin():
                who = _principal(session, key_id)
                row = watch.create_watchlist(
                    session,
                    principal=who,
                    name=name,
                    codes=_codes(codes, file),
                    most=get_settings().notify.max_codes,
                )
                n = watch.size(session, watchlist_id=row.watchlist_id)
        except ServiceError as exc:
            raise _refused(exc) from None
    typer.echo(f"watchlist {row.watchlist_id} {row.name!r}: {n} codes")


def _change(key_id: str, watchlist_id: str, codes: list[str], *, add: bool) -> None:
    from service.engine.notify import watch

    change = watch.add_codes if add else watch.remove_codes
    with _session() as session:
        try:
            with session.begin():
                n = change(
                    session,
                    principal=_principal(session, key_id),
                    watchlist_id=watchlist_id,
                    codes=codes,
                    most=get_settings().notify.max_codes,
                )
                total = watch.size(session, watchlist_id=watchlist_id)
        except ServiceError as exc:
            raise _refused(exc) from None
    typer.echo(f"watchlist {watchlist_id}: {n} {'added' if add else 'removed'}, {total} codes")


@watch_app.command("add")
def add(
    key_id: KeyOpt,
    watchlist_id: str,
    codes: Annotated[list[str] | None, typer.Argument(help="USCCs")] = None,
    file: FileOpt = None,
) -> None:
    """Watch more codes."""
    _change(key_id, watchlist_id, _codes(codes, file), add=True)


@watch_app.command("remove")
def remove(
    key_id: KeyOpt,
    watchlist_id: str,
    codes: Annotated[list[str] | None, typer.Argument(help="USCCs")] = None,
    file: FileOpt = None,
) -> None:
    """Stop watching codes."""
    _change(key_id, watchlist_id, _codes(codes, file), add=False)


@watch_app.command("list")
def list_(key_id: KeyOpt) -> None:
    """The key's watchlists: id, name, codes."""
    from service.engine.notify import watch

    with _session() as session, session.begin():
        for w in watch.watchlists(session, principal=_principal(session, key_id)):
            typer.echo(f"{w.watchlist_id}\t{w.name}\t{w.codes}")


@watch_app.command("delete")
def delete(key_id: KeyOpt, watchlist_id: str) -> None:
    """Delete a watchlist."""
    from service.engine.notify import watch

    with _session() as session:
        try:
            with session.begin():
                info = watch.delete_watchlist(
                    session, principal=_principal(session, key_id), watchlist_id=watchlist_id
                )
        except ServiceError as exc:
            raise _refused(exc) from None
    typer.echo(f"watchlist {info.watchlist_id} {info.name!r} deleted ({info.codes} codes)")


@app.command()
def dead(key_id: KeyOpt, subscription_id: str) -> None:
    """The subscription's dead deliveries: id, event, attempts, last error."""
    from service.engine.notify import hooks

    with _session() as session:
        try:
            with session.begin():
                rows = hooks.deliveries(
                    session,
                    principal=_principal(session, key_id),
                    subscription_id=subscription_id,
                    state="dead",
                    after=0,
                    limit=10_000,
                )
        except ServiceError as exc:
            raise _refused(exc) from None
    for d in rows:
        sys.stdout.write(f"{d.delivery_id}\t{d.event_id}\t{d.attempts}\t{d.last_error}\n")


@app.command()
def replay(key_id: KeyOpt, delivery_id: int) -> None:
    """Send a dead delivery again."""
    from service.engine.notify import hooks

    with _session() as session:
        try:
            with session.begin():
                hooks.replay(
                    session, principal=_principal(session, key_id), delivery_id=delivery_id
                )
        except ServiceError as exc:
            raise _refused(exc) from None
    typer.echo(f"delivery {delivery_id}: pending again")
