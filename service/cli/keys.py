"""``safecredit keys …``: create (the token is printed once; ``--expires-in 90d``), list (state,
expiry, last use), revoke (never the last active admin key: exit 1)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from service.cli.choices import ROLES

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

app = typer.Typer(help="API keys: stored only as hashes, one role each, revocable.")


def _session() -> Session:
    from sqlalchemy.orm import Session

    from service.store.db import migrated_engine
    from service.store.settings import get_settings

    return Session(migrated_engine(get_settings().database.url), expire_on_commit=False)


@app.command()
def create(
    role: Annotated[
        Literal[ROLES],  # type: ignore[valid-type]
        typer.Option(help="the key's role"),
    ],
    uscc: Annotated[
        str | None, typer.Option(help="the enterprise an enterprise key is for")
    ] = None,
    name: Annotated[str, typer.Option(help="who holds the key")] = "",
    department: Annotated[
        str | None, typer.Option(help="a regulator key's department (it acts on its entries)")
    ] = None,
    expires_in: Annotated[
        str | None, typer.Option(help="refused after this long: 90d, 12h, 30m (default: never)")
    ] = None,
) -> None:
    """Create a key and print its token once: only its hash is kept."""
    from service.engine.keys import KeyInputError, create_key, parse_duration

    with _session() as session:
        try:
            lifetime = parse_duration(expires_in, field="--expires-in") if expires_in else None
            with session.begin():
                row, token = create_key(
                    session,
                    role=role,
                    uscc=uscc,
                    name=name,
                    department=department,
                    expires_in=lifetime,
                )
        except KeyInputError as exc:
            typer.echo(f"refused: {exc}", err=True)
            raise typer.Exit(2) from None
    typer.echo(f"key {row.key_id} ({row.role}{f', {row.uscc}' if row.uscc else ''}): {token}")
    if row.expires_at is not None:
        typer.echo(f"it expires at {_when(row.expires_at)}", err=True)
    typer.echo("the token is shown only now: keep it", err=True)


@app.command(name="list")
def list_() -> None:
    """Every key with its role, binding, state, expiry and last use (never a secret)."""
    from service.engine.keys import is_live, list_keys

    now = dt.datetime.now(dt.UTC)
    with _session() as session, session.begin():
        for k in list_keys(session):
            if k.revoked_at:
                state = f"revoked {_when(k.revoked_at)}"
            elif not is_live(k, now):
                state = f"expired {_when(k.expires_at)}"
            else:
                state = "active" + (f" until {_when(k.expires_at)}" if k.expires_at else "")
            used = f"last used {_when(k.last_used_at)}" if k.last_used_at else "never used"
            bound = k.uscc or k.department or ""
            typer.echo(f"{k.key_id}\t{k.role}\t{bound}\t{k.name}\t{state}\t{used}")


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "-"
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


@app.command()
def revoke(key_id: str) -> None:
    """Revoke KEY_ID and its page sign-ins: they stop working at once. The last active admin
    key is kept (exit 1)."""
    from service.engine.keys import KeyInputError, LastAdminError, revoke_key

    with _session() as session:
        try:
            with session.begin():
                row = revoke_key(session, key_id=key_id)
        except LastAdminError as exc:
            typer.echo(f"refused: {exc}", err=True)
            raise typer.Exit(1) from None
        except KeyInputError as exc:
            typer.echo(f"refused: {exc}", err=True)
            raise typer.Exit(2) from None
    typer.echo(f"key {row.key_id} revoked at {row.revoked_at:%Y-%m-%d %H:%M:%S}")
