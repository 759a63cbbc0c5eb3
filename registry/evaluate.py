"""Proposals: the policy's rules applied to the event history as known on a date.

One penalty decision of one enterprise gives one proposal per list, whatever number of rules its
conduct meets: each rule met is a ground (rule, evidence, event date), the first in the policy's
order names the entry, and the list's one term and measures apply. It carries the penalty decision
and the department that imposed it (that department decides the listing) and the persons named
with the unit. An entry's identity is list type + uscc + penalty decision: a proposal already in
the registry is not proposed again, so evaluating twice proposes nothing new.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.history import known_as_of
from registry.policy import Policy
from registry.rules import Evidence, History, triggers
from registry.tables import Entry

PERSON_ROLES = ("legal_representative", "principal", "safety_lead")


@dataclass(frozen=True)
class Ground:
    """One rule the conduct behind a penalty decision meets."""

    rule: str
    evidence: Evidence
    event_on: dt.date

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "evidence": [{"table": t, "id": i} for t, i in self.evidence],
            "event_on": self.event_on.isoformat(),
        }


@dataclass(frozen=True)
class Proposal:
    policy: str  # id@version
    list_type: str
    uscc: str
    name: str | None
    grounds: tuple[Ground, ...]  # in the policy's rule order
    penalty_decision_id: str
    department: str
    persons: tuple[tuple[str, str], ...]  # (role, name)
    as_of: dt.date

    @property
    def rule(self) -> str:
        return self.grounds[0].rule

    @property
    def evidence(self) -> Evidence:
        return tuple(sorted({e for g in self.grounds for e in g.evidence}))

    @property
    def event_on(self) -> dt.date:
        return min(g.event_on for g in self.grounds)

    @property
    def identity(self) -> str:
        return identity(self.list_type, self.uscc, self.penalty_decision_id)

    @property
    def summary(self) -> str:
        """The grounds in words: ``S1, S4 (accidents A-1; penalties P-2)``."""
        rules = ", ".join(g.rule for g in self.grounds)
        return f"{rules} ({evidence_text(self.evidence)})"


def evidence_text(evidence: Iterable[tuple[str, str]]) -> str:
    """Record ids by table, as a person reads them: ``accidents A-1, A-2; penalties P-3``."""
    tables: dict[str, list[str]] = {}
    for table, record in sorted(evidence):
        tables.setdefault(table, []).append(record)
    return "; ".join(f"{t} {', '.join(ids)}" for t, ids in tables.items())


def identity(list_type: str, uscc: str, penalty_decision_id: str) -> str:
    payload = json.dumps([list_type, uscc, penalty_decision_id], ensure_ascii=False)
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
    order = {r.code: i for i, r in enumerate(policy.rules)}
    grounds: dict[tuple[str, str], dict[str, Ground]] = {}
    for t in triggers(history, policy):
        if penalties is None or t.penalty_decision_id not in penalties.index:
            continue
        penalty = penalties.loc[t.penalty_decision_id]
        if not penalty["department"] or penalty["uscc"] != t.uscc:
            continue
        mine = grounds.setdefault((t.uscc, str(t.penalty_decision_id)), {})
        known = mine.get(t.rule)
        if known is None or (t.event_on, t.evidence) < (known.event_on, known.evidence):
            mine[t.rule] = Ground(t.rule, t.evidence, t.event_on)
    out: dict[str, Proposal] = {}
    for (uscc, pid), found in grounds.items():
        name: str | None = None
        persons: tuple[tuple[str, str], ...] = ()
        if enterprises is not None and uscc in enterprises.index:
            firm = enterprises.loc[uscc]
            name = firm["name"]
            persons = tuple((role, firm[role]) for role in PERSON_ROLES if firm.get(role))
        p = Proposal(
            policy=policy.key,
            list_type=policy.list_type,
            uscc=uscc,
            name=name,
            grounds=tuple(sorted(found.values(), key=lambda g: order[g.rule])),
            penalty_decision_id=pid,
            department=str(penalties.loc[pid]["department"]),  # type: ignore[union-attr]
            persons=persons,
            as_of=as_of,
        )
        out[p.identity] = p
    if not out:
        return []
    existing = set(session.scalars(select(Entry.identity).where(Entry.identity.in_(list(out)))))
    # entries made before one entry per penalty decision carry another identity
    pids = sorted({p.penalty_decision_id for p in out.values()})
    for start in range(0, len(pids), 5_000):
        for list_type, uscc, pid in session.execute(
            select(Entry.list_type, Entry.uscc, Entry.penalty_decision_id).where(
                Entry.penalty_decision_id.in_(pids[start : start + 5_000])
            )
        ):
            existing.add(identity(list_type, uscc, pid))
    return [p for key, p in out.items() if key not in existing]
