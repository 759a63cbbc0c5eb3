"""``safecredit registry …``: evaluate, act, list, show, check, verify, checkpoint, export.

Dates are the server's: an action takes effect today (in the registry's time zone) unless a
regulator enters an earlier ``--on`` with ``--late-reason`` within the policy's grace; nothing
takes effect in the future. Bad input exits 2, a refusal by the procedure 1."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from registry import clock
from registry.errors import InputError, RegistryError
from registry.status import ACTIONS, TRANSITIONS
from service.cli.chain import Checkpoints, public_key, report_chain, write_checkpoint
from service.cli.choices import DOMAINS, FORMATS, STATUSES
from service.cli.files import OUT_HELP, table_file, table_file_or_folder
from service.cli.progress import Progress, bar

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

app = typer.Typer(help="Joint-punishment registry: proposals, procedure, checks, audit chain.")
act_app = typer.Typer(help="Record one step of the procedure on an entry.")
app.add_typer(act_app, name="act")

Day = Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"])]
OptionalDay = Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"])]
LIST_COLUMNS = (
    *("entry_id", "uscc", "name", "rules", "state"),
    *("proposed_on", "decided_on", "published_on", "term_ends_on", "department"),
)
STATES = tuple(
    sorted({*TRANSITIONS, *(s for moves in TRANSITIONS.values() for s in moves.values())})
)


def today() -> dt.date:
    """The registry's date now, in its time zone."""
    from service.store.settings import get_settings

    return clock.today(get_settings().registry.time_zone)


@contextmanager
def _session() -> Iterator[Session]:
    from sqlalchemy.orm import Session

    from service.store.db import migrated_engine
    from service.store.settings import get_settings

    engine = migrated_engine(get_settings().database.url)
    try:
        with Session(engine) as session, session.begin():
            yield session
    except InputError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from exc
    except RegistryError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1, default=str)


def _known_at(text: str | None) -> dt.datetime | None:
    """``--known-at``: an ISO time (UTC unless it says otherwise), not in the future."""
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise _fail(f"--known-at: {text!r} is not an ISO date or time") from exc
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    if moment > clock.now():
        raise _fail(f"--known-at: {text} is in the future")
    return moment


@app.command()
def evaluate(
    as_of: Day,
    policy: Annotated[str, typer.Option(help="policy id or id@version")] = "mem11",
    record: Annotated[
        bool, typer.Option(help="enter, today, the proposals of --department")
    ] = False,
    department: Annotated[str, typer.Option(help="the department that imposed the penalty")] = "",
    actor: Annotated[str, typer.Option()] = "",
    progress: Progress = None,
) -> None:
    """Apply the policy's rules to the history known on AS_OF; list (or record) new proposals,
    one per penalty decision, with every rule it meets."""
    from registry.evaluate import evaluate as evaluate_rules
    from registry.policy import find_policy
    from registry.procedure import propose

    if record and not department.strip():
        raise _fail("--record needs --department: only the penalising department enters a listing")
    if record and not actor.strip():
        raise _fail("--record needs --actor")
    pol, on = find_policy(policy), as_of.date()
    if on > today():
        raise _fail(f"--as-of: {on} is after today ({today()})")
    with _session() as s:
        with bar(progress, total=None, unit="step", desc=f"evaluating {pol.key}") as shown:
            found = evaluate_rules(s, policy=pol, as_of=on)
            shown.update()
        mine = [p for p in found if p.department == department]
        with bar(progress, total=len(found), unit="proposal", desc="proposals") as shown:
            lines = []  # printed once the bar is done: stdout holds the results only
            for p in found:
                line = f"{p.summary}\t{p.uscc}\t{p.name or ''}\t{p.penalty_decision_id}"
                line += f"\t{p.department}"
                if record and p.department == department:
                    day = today()
                    entry = propose(
                        s,
                        proposal=p,
                        policy=pol,
                        actor=actor,
                        department=department,
                        on=day,
                        today=day,
                    )
                    line += f"\tentered {entry.entry_id}"
                lines.append(line)
                shown.update()
        for line in lines:
            typer.echo(line)
        typer.echo(f"{len(found)} new proposal(s) under {pol.key} as of {on}")
    if record and not mine:
        others = sorted({p.department for p in found})
        raise _fail(
            f"no new proposals for {department!r}"
            + (f"; departments with proposals: {', '.join(others)}" if others else ""),
            1,
        )


def _action_command(action: str) -> Callable[..., None]:
    def command(
        entry_id: str,
        actor: Annotated[str, typer.Option()],
        department: Annotated[str, typer.Option()],
        reason: Annotated[str, typer.Option()],
        on: Annotated[
            dt.datetime | None,
            typer.Option(formats=["%Y-%m-%d"], help="the day it takes effect (today)"),
        ] = None,
        late_reason: Annotated[
            str | None, typer.Option(help="why an earlier --on is entered only now")
        ] = None,
        commitment_signed_on: Annotated[
            str | None, typer.Option(help="apply-repair: the credit commitment's date")
        ] = None,
        corrections: Annotated[
            str | None, typer.Option(help='correct: a JSON object, e.g. {"name": "…"}')
        ] = None,
        note: Annotated[str | None, typer.Option()] = None,
        expected_version: Annotated[int | None, typer.Option()] = None,
    ) -> None:
        from registry.procedure import act as act_on

        details: dict[str, Any] = {}
        if commitment_signed_on:
            details["commitment_signed_on"] = commitment_signed_on
        if note:
            details["note"] = note
        if corrections:
            try:
                details["corrections"] = json.loads(corrections)
            except json.JSONDecodeError as exc:
                raise _fail(f"--corrections: not JSON ({exc.msg} at character {exc.pos})") from exc
        day = today()
        with _session() as s:
            row = act_on(
                s,
                entry_id=entry_id,
                action=action,
                actor=actor,
                department=department,
                on=on.date() if on else day,
                reason=reason,
                details=details,
                expected_version=expected_version,
                today=day,
                late_reason=late_reason,
            )
            typer.echo(
                f"{action} recorded: entry {entry_id} step {row.seq}, on {row.acted_on}, "
                f"recorded at {row.recorded_at.isoformat(timespec='seconds')}, chain "
                f"{row.chain_seq} {row.hash[:16]}…"
            )
            precheck = row.details.get("precheck")
            if precheck:
                for name, result in precheck["conditions"].items():
                    mark = "met" if result["met"] else "missing"
                    typer.echo(f"  {name}: {mark} — {result['why']}")
                typer.echo(
                    "  earliest approval: "
                    + (precheck["earliest_approval_on"] or "once the missing conditions are met")
                )

    command.__doc__ = f"Record '{action}' on ENTRY_ID (today, or a late --on with --late-reason)."
    return command


for _action in sorted(ACTIONS - {"propose"}):
    act_app.command(name=_action.replace("_", "-"))(_action_command(_action))


@app.command("list")
def list_entries(
    state: Annotated[
        Literal[STATES] | None,  # type: ignore[valid-type]
        typer.Option(help="entries in this state"),
    ] = None,
    department: Annotated[str | None, typer.Option()] = None,
    uscc: Annotated[str | None, typer.Option()] = None,
    on: OptionalDay = None,
    out: Annotated[
        Path | None,
        typer.Option(help=OUT_HELP + "; tab-separated on stdout by default", callback=table_file),
    ] = None,
) -> None:
    """Entries with their state on ON (today): id, USCC, name, rules, state and dates; a header
    row first, tab-separated, or written to --out as a table for people."""
    from sqlalchemy import select

    from registry.procedure import actions_of
    from registry.status import status
    from registry.tables import Entry

    day = on.date() if on else today()
    with _session() as s:
        query = select(Entry).order_by(Entry.uscc, Entry.entry_id)
        if department:
            query = query.where(Entry.department == department)
        if uscc:
            query = query.where(Entry.uscc == uscc.strip().upper())
        rows = []
        for entry in s.scalars(query):
            st = status(actions_of(s, entry_id=entry.entry_id), on=day)
            if state is not None and st.state != state:
                continue
            rows.append(
                {
                    "entry_id": entry.entry_id,
                    "uscc": entry.uscc,
                    "name": entry.name,
                    "rules": ",".join(g["rule"] for g in entry.grounds),
                    "state": st.state,
                    "proposed_on": st.proposed_on,
                    "decided_on": st.decided_on,
                    "published_on": st.published_on,
                    "term_ends_on": st.term_ends_on,
                    "department": entry.department,
                }
            )
    if out is not None:
        import pandas as pd

        from features.files import write_table

        write_table(pd.DataFrame(rows, columns=list(LIST_COLUMNS), dtype=object), out)
        typer.echo(f"wrote {out}: {len(rows):,} entries on {day}")
        return
    typer.echo("\t".join(LIST_COLUMNS))
    for row in rows:
        typer.echo("\t".join("" if row[c] is None else str(row[c]) for c in LIST_COLUMNS))


@app.command()
def show(
    entry_id: str,
    on: OptionalDay = None,
    known_at: Annotated[
        str | None, typer.Option(help="as the registry knew it at this time (ISO)")
    ] = None,
) -> None:
    """An entry, its actions (each with the day it takes effect and when it was recorded) and
    its status on ON (today), as known now or at --known-at."""
    from registry.evaluate import evidence_text
    from registry.index import index_for
    from registry.procedure import actions_of
    from registry.status import allowed_actions, status
    from registry.tables import Entry

    day = on.date() if on else today()
    moment = _known_at(known_at)
    with _session() as s:
        entry = s.get(Entry, entry_id)
        if entry is None:
            raise _fail(f"no registry entry {entry_id!r}", 1)
        acts = actions_of(s, entry_id=entry_id)
        if moment is not None:
            known = index_for(s).known_at(s, moment)
            acts = [a for a in acts if a.chain_seq <= known.chain]
        typer.echo(
            _json(
                {
                    "entry": {c.name: getattr(entry, c.name) for c in Entry.__table__.columns},
                    "evidence": evidence_text((e["table"], e["id"]) for e in entry.evidence),
                    "actions": [
                        {
                            "seq": a.seq,
                            "action": a.action,
                            "on": a.acted_on,
                            "recorded_at": a.recorded_at,
                            "actor": a.actor,
                            "department": a.department,
                            "reason": a.reason,
                            "details": a.details,
                            "hash": a.hash,
                        }
                        for a in acts
                    ],
                    "status": asdict(status(acts, on=day)),
                    "allowed_now": allowed_actions(acts, on=day) if moment is None else [],
                }
            )
        )


@app.command()
def check(
    usccs: list[str],
    domain: Annotated[
        Literal[DOMAINS],  # type: ignore[valid-type]
        typer.Option(help="the approval domain"),
    ],
    as_of: OptionalDay = None,
    known_at: Annotated[
        str | None, typer.Option(help="as the registry knew it at this time (ISO)")
    ] = None,
) -> None:
    """Each USCC's status in DOMAIN on AS_OF (today): restricted, clear, not_found or invalid,
    with the entries in force. Exit 0 whatever the statuses."""
    from registry.check import check as check_codes
    from registry.index import index_for

    day = as_of.date() if as_of else today()
    moment = _known_at(known_at)
    with _session() as s:
        known = index_for(s).known_at(s, moment) if moment is not None else None
        result = check_codes(s, usccs=usccs, domain=domain, as_of=day, known=known)
        rows = [{**asdict(c), "restricted": c.restricted} for c in result]
        typer.echo(_json(rows))
    counts = {k: sum(c.status == k for c in result) for k in STATUSES}
    typer.echo(", ".join(f"{n} {k}" for k, n in counts.items() if n), err=True)


@app.command()
def verify(checkpoint: Checkpoints = None) -> None:
    """Recompute the sealed hash chain, its signed head and the entries, and check each
    CHECKPOINT given; exit 1 naming every edited, deleted, reordered, re-hashed or cut row."""
    from registry.chain import verify as verify_chain

    report_chain(lambda s, found: verify_chain(s, checkpoints=found), checkpoint)


@app.command()
def checkpoint(
    out: Annotated[Path | None, typer.Option(help="file to write (stdout by default)")] = None,
) -> None:
    """Write the chain's signed head (length, hash, time, public key, signature) as JSON, to
    publish or hand to another party; refused (exit 1) if the chain does not verify."""
    from registry.chain import take_checkpoint

    write_checkpoint(take_checkpoint, out)


app.command("public-key")(public_key)


@app.command()
def export(
    as_of: Day,
    out: Annotated[
        Path,
        typer.Option(
            help="a folder: published-AS_OF.csv and .json with the chain head, for the credit "
            "platforms; or one file for people: " + ", ".join(FORMATS),
            callback=table_file_or_folder,
        ),
    ] = Path("var/exports"),
) -> None:
    """Write the list published on AS_OF: as CSV and JSON with the chain head into a folder, or
    as one table in the format --out's extension names."""
    from registry.export import export as export_list
    from registry.export import export_table

    with _session() as s:
        if out.suffix and not out.is_dir():
            paths = {out.suffix.lstrip("."): export_table(s, as_of=as_of.date(), path=out)}
        else:
            paths = export_list(s, as_of=as_of.date(), out_dir=out)
    for kind, path in paths.items():
        typer.echo(f"{kind}: {path}")
