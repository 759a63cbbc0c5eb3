"""``safecredit keys …``: create (the token is printed once), list, revoke."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.orm import Session

from service.db import migrated_engine
from service.keys import ROLES, KeyInputError, create_key, list_keys, revoke_key
from service.settings import get_settings

app = typer.Typer(help="API keys: stored only as hashes, one role each, revocable.")


def _session() -> Session:
    return Session(migrated_engine(get_settings().database.url), expire_on_commit=False)


@app.command()
def create(
    role: Annotated[str, typer.Option(help=f"one of {', '.join(ROLES)}")],
    uscc: Annotated[
        str | None, typer.Option(help="the enterprise an enterprise key is for")
    ] = None,
    name: Annotated[str, typer.Option(help="who holds the key")] = "",
    department: Annotated[
        str | None, typer.Option(help="a regulator key's department (it acts on its entries)")
    ] = None,
) -> None:
    """Create a key and print its token once: only its hash is kept."""
    with _session() as session:
        try:
            with session.begin():
                row, token = create_key(
                    session, role=role, uscc=uscc, name=name, department=department
                )
        except KeyInputError as exc:
            typer.echo(f"refused: {exc}", err=True)
            raise typer.Exit(2) from None
    typer.echo(f"key {row.key_id} ({row.role}{f', {row.uscc}' if row.uscc else ''}): {token}")
    typer.echo("the token is shown only now: keep it", err=True)


@app.command(name="list")
def list_() -> None:
    """Every key with its role, binding and state (never a secret)."""
    with _session() as session, session.begin():
        for k in list_keys(session):
            state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
            bound = k.uscc or k.department or ""
            typer.echo(f"{k.key_id}\t{k.role}\t{bound}\t{k.name}\t{state}")


@app.command()
def revoke(key_id: str) -> None:
    """Revoke KEY_ID: it stops working at once."""
    with _session() as session:
        try:
            with session.begin():
                row = revoke_key(session, key_id=key_id)
        except KeyInputError as exc:
            typer.echo(f"refused: {exc}", err=True)
            raise typer.Exit(2) from None
    typer.echo(f"key {row.key_id} revoked at {row.revoked_at:%Y-%m-%d %H:%M:%S}")
