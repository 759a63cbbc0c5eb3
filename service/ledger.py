"""The decision ledger: every score, quote and check answered is recorded with its inputs and
their hash, the versions that answered (model, scoring policy, tariff, …), the output and its
reasons. Rows are only inserted. Query functions take the session and never commit."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from typing import Any

from sqlalchemy.orm import Session

from service.tables import Decision

KINDS = ("score", "quote", "check")


def canonical(value: Any) -> str:
    """The JSON text a value is hashed and compared by: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def inputs_hash(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(inputs).encode()).hexdigest()


def record(
    session: Session,
    *,
    kind: str,
    inputs: dict[str, Any],
    versions: dict[str, Any],
    output: dict[str, Any],
    reasons: list[Any],
    subject: str | None = None,
    key_id: str | None = None,
) -> Decision:
    """Append one decision; ``output`` and ``reasons`` must be JSON-ready (dates as text)."""
    if kind not in KINDS:
        raise ValueError(f"kind: {kind!r} is not one of {KINDS}")
    row = Decision(
        decision_id=uuid.uuid4().hex,
        kind=kind,
        subject=subject,
        key_id=key_id,
        decided_at=dt.datetime.now(dt.UTC),
        inputs=inputs,
        inputs_sha256=inputs_hash(inputs),
        versions=versions,
        output=output,
        reasons=reasons,
    )
    session.add(row)
    session.flush()
    return row


def get(session: Session, *, decision_id: str) -> Decision | None:
    return session.get(Decision, decision_id)


def differences(recorded: Any, fresh: Any, where: str = "output") -> list[str]:
    """Where ``fresh`` differs from ``recorded`` (paths like ``output.reasons[0].points``)."""
    if isinstance(recorded, dict) and isinstance(fresh, dict):
        out = []
        for key in sorted(set(recorded) | set(fresh)):
            if key not in fresh or key not in recorded:
                out.append(f"{where}.{key}: present in only one")
            else:
                out.extend(differences(recorded[key], fresh[key], f"{where}.{key}"))
        return out
    if isinstance(recorded, list) and isinstance(fresh, list):
        if len(recorded) != len(fresh):
            return [f"{where}: {len(recorded)} items recorded, {len(fresh)} now"]
        return [
            d
            for i, (a, b) in enumerate(zip(recorded, fresh, strict=True))
            for d in differences(a, b, f"{where}[{i}]")
        ]
    if canonical(recorded) != canonical(fresh):
        return [f"{where}: recorded {canonical(recorded)}, now {canonical(fresh)}"]
    return []
