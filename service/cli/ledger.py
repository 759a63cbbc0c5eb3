"""``safecredit ledger …``: verify the decision ledger's chain, checkpoint its head, print the
public key a checkpoint is checked with."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.cli.chain import Checkpoints, public_key, report_chain, write_checkpoint

app = typer.Typer(help="The decision ledger: its sealed hash chain and checkpoints.")


@app.command()
def verify(checkpoint: Checkpoints = None) -> None:
    """Recompute the ledger's sealed hash chain and signed head, and check each CHECKPOINT
    given; exit 1 naming every edited, deleted, reordered, re-hashed or cut decision."""
    from service.engine.ledger_chain import verify as verify_ledger

    report_chain(lambda s, found: verify_ledger(s, checkpoints=found), checkpoint)


@app.command()
def checkpoint(
    out: Annotated[Path | None, typer.Option(help="file to write (stdout by default)")] = None,
) -> None:
    """Write the ledger's signed head (length, hash, time, public key, signature) as JSON, to
    publish or hand to another party; refused (exit 1) if the ledger does not verify."""
    from service.engine.ledger_chain import take_checkpoint

    write_checkpoint(take_checkpoint, out)


app.command("public-key")(public_key)
