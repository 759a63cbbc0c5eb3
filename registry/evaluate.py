"""Proposals: the policy's rules applied to the event history as known on a date.

Each proposal carries its rule, the evidence (record ids), the penalty decision and the department
that imposed it (that department decides the listing), and the persons named with the unit.
An entry's identity is list type + rule + uscc + evidence: a proposal already in the registry is
not proposed again, so evaluating twice proposes nothing new.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.history import known_as_of
from registry.policy import Policy
from registry.rules import Evidence, History, triggers
from registry.tables import Entry

PERSON_ROLES = ("legal_representative", "principal", "safety_lead")


@dataclass(frozen=True)
class Proposal:
    policy: str  # id@version
    list_type: str
    rule: str
    uscc: str
    name: str | None
    evidence: Evidence
    penalty_decision_id: str
    department: str
    event_on: dt.date
    persons: tuple[tuple[str, str], ...]  # (role, name)
    as_of: dt.date

    @property
    def identity(self) -> str:
        return identity(self.list_type, self.rule, self.uscc, self.evidence)


def identity(list_type: str, rule: str, uscc: str, evidence: Evidence) -> str:
    payload = json.dumps(
        [list_type, rule, uscc, [list(e) for e in sorted(evidence)]],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def load_history(
    session: Session, *, as_of: dt.date, usccs: Collection[str] | None = None
) -> History:
    """The tables the rules read, as known on ``as_of``."""
    frames = {
        t: known_as_of(session, table=t, as_of=as_of, usccs=usccs)
        for t in ("enterprises", "accidents", "penalties", "violations", "hazards")
    }
    return History(as_of=as_of, **frames)


def evaluate(
    session: Session, *, policy: Policy, as_of: dt.date, usccs: Collection[str] | None = None
) -> list[Proposal]:
    """New proposals under ``policy`` from what was known on ``as_of`` (none already entered).

    A trigger whose penalty decision is unknown on ``as_of`` (or names no department) gives no
    proposal: no listing without a penalty decision, decided by the department that imposed it.
    """
    history = load_history(session, as_of=as_of, usccs=usccs)
    penalties = (
        history.penalties.set_index("penalty_decision_id") if len(history.penalties) else None
    )
    enterprises = history.enterprises.set_index("uscc") if len(history.enterprises) else None
    out: dict[str, Proposal] = {}
    for t in triggers(history, policy):
        if penalties is None or t.penalty_decision_id not in penalties.index:
            continue
        penalty = penalties.loc[t.penalty_decision_id]
        if not penalty["department"] or penalty["uscc"] != t.uscc:
            continue
        name: str | None = None
        persons: tuple[tuple[str, str], ...] = ()
        if enterprises is not None and t.uscc in enterprises.index:
            firm = enterprises.loc[t.uscc]
            name = firm["name"]
            persons = tuple((role, firm[role]) for role in PERSON_ROLES if firm.get(role))
        p = Proposal(
            policy=policy.key,
            list_type=policy.list_type,
            rule=t.rule,
            uscc=t.uscc,
            name=name,
            evidence=t.evidence,
            penalty_decision_id=str(t.penalty_decision_id),
            department=str(penalty["department"]),
            event_on=t.event_on,
            persons=persons,
            as_of=as_of,
        )
        out.setdefault(p.identity, p)
    if not out:
        return []
    existing = set(session.scalars(select(Entry.identity).where(Entry.identity.in_(list(out)))))
    return [p for key, p in out.items() if key not in existing]
