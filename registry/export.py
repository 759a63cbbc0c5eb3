"""The published list as of a date, for the national credit platforms: CSV and JSON, with the
chain head (length and hash) that the list was drawn from, and the CSV's sha256 in the JSON;
or the list alone as one file for people (``.csv``, ``.xlsx``, ``.json``, ``.parquet``).

The CSV is a table for people (:mod:`features.files`): UTF-8 with a byte-order mark, and a name
a corrector entered as ``=HYPERLINK(…)`` is written as text, never as a formula.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from features.files import write_table
from registry.chain import CHAIN_ID
from registry.tables import Action, ChainHead, Entry

COLUMNS = (
    "uscc",
    "name",
    "list_type",
    "rule",
    "department",
    "penalty_decision_id",
    "decided_on",
    "published_on",
    "term_ends_on",
    "automatic_removal",
    "earliest_repair_on",
    "persons",
    "evidence",
    "entry_id",
    "policy",
)


def published(session: Session, *, as_of: dt.date) -> list[dict[str, Any]]:
    """Entries in force on ``as_of`` as published rows (corrections up to ``as_of`` applied)."""
    from registry.check import entry_statuses  # one loader for checks and exports

    codes = list(
        session.scalars(
            select(Entry.uscc)
            .join(Action, Action.entry_id == Entry.entry_id)
            .where(Action.action == "publish", Action.acted_on <= as_of)
            .distinct()
        )
    )
    rows: list[dict[str, Any]] = []
    for start in range(0, len(codes), 10_000):
        for row, st in entry_statuses(session, usccs=codes[start : start + 10_000], as_of=as_of):
            if st.in_force:
                rows.append({"row": row, "status": st})
    ids = [r["row"]["entry_id"] for r in rows]
    entries = {e.entry_id: e for e in session.scalars(select(Entry).where(Entry.entry_id.in_(ids)))}
    fixes: dict[str, dict[str, Any]] = {}
    for entry_id, details in session.execute(
        select(Action.entry_id, Action.details)
        .where(Action.entry_id.in_(ids), Action.action == "correct", Action.acted_on <= as_of)
        .order_by(Action.entry_id, Action.seq)
    ):
        fixes.setdefault(entry_id, {}).update(details.get("corrections", {}))
    out = []
    for r in rows:
        e, st = entries[r["row"]["entry_id"]], r["status"]
        fix = fixes.get(e.entry_id, {})
        out.append(
            {
                "uscc": e.uscc,
                "name": fix.get("name", e.name),
                "list_type": e.list_type,
                "rule": e.rule,
                "department": e.department,
                "penalty_decision_id": e.penalty_decision_id,
                "decided_on": st.decided_on,
                "published_on": st.published_on,
                "term_ends_on": st.term_ends_on,
                "automatic_removal": st.automatic_removal,
                "earliest_repair_on": st.earliest_repair_on,
                "persons": fix.get("persons", e.persons),
                "evidence": e.evidence,
                "entry_id": e.entry_id,
                "policy": f"{e.policy_id}@{e.policy_version}",
            }
        )
    return sorted(out, key=lambda r: (r["uscc"], r["published_on"], r["entry_id"]))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Published rows as a table: dates and flags as they are, lists as JSON text."""
    cells = {
        c: [r[c] if r[c] is None or isinstance(r[c], bool | dt.date) else _text(r[c]) for r in rows]
        for c in COLUMNS
    }
    return pd.DataFrame(cells, columns=list(COLUMNS), dtype=object)


def export(session: Session, *, as_of: dt.date, out_dir: Path) -> dict[str, Path]:
    """Write ``published-<as_of>.csv`` and ``.json``; returns their paths by format."""
    rows = published(session, as_of=as_of)
    head = session.get(ChainHead, CHAIN_ID)
    csv_path = write_table(table(rows), out_dir / f"published-{as_of.isoformat()}.csv")
    json_path = out_dir / f"published-{as_of.isoformat()}.json"
    document = {
        "as_of": as_of.isoformat(),
        "chain": {
            "length": head.length if head else 0,
            "head_hash": head.head_hash if head else None,
        },
        "csv_sha256": hashlib.sha256(csv_path.read_bytes()).hexdigest(),
        "count": len(rows),
        "entries": [
            {c: (r[c] if isinstance(r[c], list | bool) else _text(r[c]) or None) for c in COLUMNS}
            for r in rows
        ],
    }
    json_path.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    return {"csv": csv_path, "json": json_path}


def export_table(session: Session, *, as_of: dt.date, path: Path) -> Path:
    """Write the list published on ``as_of`` as one table, in the format of ``path``'s
    extension (:func:`features.files.write_table`)."""
    return write_table(table(published(session, as_of=as_of)), path)
