"""``safecredit registry …``: evaluate, act, show, check, verify, checkpoint, export."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from registry.chain import take_checkpoint
from registry.chain import verify as verify_chain
from registry.check import check as check_codes
from registry.errors import RegistryError
from registry.evaluate import evaluate as evaluate_rules
from registry.export import export as export_list
from registry.policy import find_policy
from registry.procedure import act as act_on
from registry.procedure import actions_of, propose
from registry.status import ACTIONS, allowed_actions, status
from registry.tables import Entry
from service.cli_chain import Checkpoints, public_key, report_chain, write_checkpoint
from service.db import migrated_engine
from service.settings import get_settings

app = typer.Typer(help="Joint-punishment registry: proposals, procedure, checks, audit chain.")
act_app = typer.Typer(help="Record one step of the procedure on an entry.")
app.add_typer(act_app, name="act")

Day = Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"])]


@contextmanager
def _session() -> Iterator[Session]:
    engine = migrated_engine(get_settings().database.url)
    try:
        with Session(engine) as session, session.begin():
            yield session
    except RegistryError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1, default=str)


@app.command()
def evaluate(
    as_of: Day,
    policy: Annotated[str, typer.Option(help="policy id or id@version")] = "mem11",
    record: Annotated[bool, typer.Option(help="enter the proposals of --department")] = False,
    department: Annotated[str, typer.Option()] = "",
    actor: Annotated[str, typer.Option()] = "",
) -> None:
    """Apply the policy's rules to the history known on AS_OF; list (or record) new proposals."""
    pol, on = find_policy(policy), as_of.date()
    with _session() as s:
        found = evaluate_rules(s, policy=pol, as_of=on)
        for p in found:
            line = f"{p.rule}\t{p.uscc}\t{p.penalty_decision_id}\t{p.department}\t{p.evidence}"
            if record and p.department == department:
                entry = propose(
                    s, proposal=p, policy=pol, actor=actor, department=department, on=on
                )
                line += f"\tentered {entry.entry_id}"
            typer.echo(line)
        typer.echo(f"{len(found)} new proposal(s) under {pol.key} as of {on}")


def _action_command(action: str) -> Callable[..., None]:
    def command(
        entry_id: str,
        on: Day,
        actor: Annotated[str, typer.Option()],
        department: Annotated[str, typer.Option()],
        reason: Annotated[str, typer.Option()],
        commitment_signed_on: Annotated[str | None, typer.Option()] = None,
        corrections: Annotated[str | None, typer.Option(help="JSON object")] = None,
        expected_version: Annotated[int | None, typer.Option()] = None,
    ) -> None:
        details: dict[str, Any] = {}
        if commitment_signed_on:
            details["commitment_signed_on"] = commitment_signed_on
        if corrections:
            details["corrections"] = json.loads(corrections)
        with _session() as s:
            row = act_on(
                s,
                entry_id=entry_id,
                action=action,
                actor=actor,
                department=department,
                on=on.date(),
                reason=reason,
                details=details,
                expected_version=expected_version,
            )
            typer.echo(
                f"{action} recorded: entry {entry_id} step {row.seq}, chain "
                f"{row.chain_seq} {row.hash[:16]}…"
            )

    command.__doc__ = f"Record '{action}' on ENTRY_ID."
    return command


for _action in sorted(ACTIONS - {"propose"}):
    act_app.command(name=_action.replace("_", "-"))(_action_command(_action))


@app.command()
def show(
    entry_id: str, on: Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"])] = None
) -> None:
    """An entry, its actions and its status on ON (today by default)."""
    day = on.date() if on else dt.date.today()
    with _session() as s:
        entry = s.get(Entry, entry_id)
        if entry is None:
            typer.echo(f"no registry entry {entry_id!r}", err=True)
            raise typer.Exit(1)
        acts = actions_of(s, entry_id=entry_id)
        typer.echo(
            _json(
                {
                    "entry": {c.name: getattr(entry, c.name) for c in Entry.__table__.columns},
                    "actions": [
                        {
                            "seq": a.seq,
                            "action": a.action,
                            "on": a.acted_on,
                            "actor": a.actor,
                            "department": a.department,
                            "reason": a.reason,
                            "details": a.details,
                            "hash": a.hash,
                        }
                        for a in acts
                    ],
                    "status": asdict(status(acts, on=day)),
                    "allowed_now": allowed_actions(acts, on=day),
                }
            )
        )


@app.command()
def check(
    usccs: list[str],
    domain: Annotated[str, typer.Option()],
    as_of: Day,
) -> None:
    """Is each USCC restricted in DOMAIN on AS_OF? With the entries in force."""
    with _session() as s:
        result = check_codes(s, usccs=usccs, domain=domain, as_of=as_of.date())
        typer.echo(_json([asdict(c) for c in result.values()]))


@app.command()
def verify(checkpoint: Checkpoints = None) -> None:
    """Recompute the sealed hash chain, its signed head and the entries, and check each
    CHECKPOINT given; exit 1 naming every edited, deleted, reordered, re-hashed or cut row."""
    report_chain(lambda s, found: verify_chain(s, checkpoints=found), checkpoint)


@app.command()
def checkpoint(
    out: Annotated[Path | None, typer.Option(help="file to write (stdout by default)")] = None,
) -> None:
    """Write the chain's signed head (length, hash, time, public key, signature) as JSON, to
    publish or hand to another party; refused (exit 1) if the chain does not verify."""
    write_checkpoint(take_checkpoint, out)


app.command("public-key")(public_key)


@app.command()
def export(as_of: Day, out: Annotated[Path, typer.Option()] = Path("var/exports")) -> None:
    """Write the list published on AS_OF as CSV and JSON, with the chain head."""
    with _session() as s:
        paths = export_list(s, as_of=as_of.date(), out_dir=out)
    for kind, path in paths.items():
        typer.echo(f"{kind}: {path}")
