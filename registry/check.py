"""Checks by approval offices: is an enterprise restricted in a domain on a date, by which entries,
until when — and, on the honest side, is it eligible for incentives.

Checks go through :mod:`registry.index` (kept exact by the chain head; the status of every
stretch is the one :func:`registry.status.status` derives). Incentives and exports read the
entries of the codes asked about in one query, their actions in another.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.errors import InputError
from registry.index import InForce, by_code, index_for
from registry.policy import DOMAINS, Policy, find_policy
from registry.status import Act, EntryStatus, status
from registry.tables import Action, Entry

MAX_CODES = 10_000


@dataclass(frozen=True, slots=True)
class Check:
    uscc: str
    domain: str
    as_of: dt.date
    restricted: bool
    measures: tuple[dict[str, str], ...] = ()  # {list_type, measure, basis}
    entries: tuple[InForce, ...] = ()


@dataclass(frozen=True)
class Incentive:
    uscc: str
    domain: str
    as_of: dt.date
    eligible: bool
    measure: dict[str, str] | None = None
    why_not: tuple[str, ...] = field(default_factory=tuple)


@lru_cache(maxsize=256)
def _measure(policy: str, list_type: str, domain: str) -> dict[str, str]:
    m = find_policy(policy).measure(domain)
    return {"list_type": list_type, "measure": m.measure, "basis": m.basis}


def _codes(usccs: Collection[str]) -> list[str]:
    codes = sorted({str(u).strip().upper() for u in usccs})
    if len(codes) > MAX_CODES:
        raise InputError(f"at most {MAX_CODES} codes per check, got {len(codes)}")
    return codes


def entry_statuses(
    session: Session, *, usccs: Collection[str], as_of: dt.date
) -> list[tuple[dict[str, Any], EntryStatus]]:
    """(entry columns, status on ``as_of``) for every entry of the codes, from two queries."""
    codes = _codes(usccs)
    if not codes:
        return []
    e = Entry
    entries = (
        session.execute(
            select(
                e.entry_id,
                e.uscc,
                e.list_type,
                e.policy_id,
                e.policy_version,
                e.rule,
                e.evidence,
                e.penalty_decision_id,
                e.department,
            ).where(e.uscc.in_(codes))
        )
        .mappings()
        .all()
    )
    if not entries:
        return []
    rows = session.execute(
        select(Action.entry_id, Action.action, Action.acted_on, Action.details)
        .join(Entry, Entry.entry_id == Action.entry_id)
        .where(Entry.uscc.in_(codes), Action.acted_on <= as_of)
        .order_by(Action.entry_id, Action.seq)
    ).all()
    acts = {
        entry_id: [Act(a, on, d) for _, a, on, d in group]
        for entry_id, group in groupby(rows, key=itemgetter(0))
    }
    return [(dict(row), status(acts.get(row["entry_id"], ()), on=as_of)) for row in entries]


def check(
    session: Session, *, usccs: Collection[str], domain: str, as_of: dt.date
) -> dict[str, Check]:
    """For each code: restricted in ``domain`` on ``as_of`` or not, the measures and entries."""
    if domain not in DOMAINS:
        raise InputError(f"unknown domain {domain!r}; domains: {list(DOMAINS)}")
    codes = _codes(usccs)
    found = by_code(index_for(session).in_force(codes, as_of))
    out: dict[str, Check] = {}
    for code in codes:
        listed = found.get(code)
        if not listed:
            out[code] = Check(code, domain, as_of, False)
            continue
        measures = {
            item.list_type: _measure(item.policy, item.list_type, domain) for item in listed
        }
        out[code] = Check(code, domain, as_of, True, tuple(measures.values()), tuple(listed))
    return out


def incentives(
    session: Session,
    *,
    usccs: Sequence[str],
    domain: str,
    as_of: dt.date,
    grades: Mapping[str, str | None],
    policy: Policy,
) -> dict[str, Incentive]:
    """The honest side: no record (never published on any list by ``as_of``) and grade A."""
    if domain not in DOMAINS:
        raise InputError(f"unknown domain {domain!r}; domains: {list(DOMAINS)}")
    codes = _codes(usccs)
    offer = next((m for m in policy.incentives if m.domain == domain), None)
    recorded = {
        row["uscc"]
        for row, st in entry_statuses(session, usccs=codes, as_of=as_of)
        if st.published_on is not None
    }
    out: dict[str, Incentive] = {}
    for code in codes:
        why = []
        if code in recorded:
            why.append("has a record on a joint-punishment list")
        if grades.get(code) != "A":
            why.append(f"grade is {grades.get(code)!r}, not 'A'")
        if offer is None:
            why.append(f"policy {policy.key} offers no incentive in {domain}")
        measure = None if offer is None else {"measure": offer.measure, "basis": offer.basis}
        out[code] = Incentive(
            code, domain, as_of, not why, measure if not why else None, tuple(why)
        )
    return out
