"""Checks by approval offices: is an enterprise restricted in a domain on a date, by which entries,
until when — and, on the honest side, is it eligible for incentives.

Checks go through :mod:`registry.index` (kept exact by the chain head; the status of every
stretch is the one :func:`registry.status.status` derives), as the registry was known at a
moment. Every code gets a true answer: restricted, clear, not found or invalid. Exports read the
entries of the codes asked about in one query, their actions in another.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import groupby
from operator import itemgetter
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from features.uscc import SHAPE, check_character, shape_problem
from registry.errors import InputError
from registry.frozen import Frozen
from registry.index import MARKER, InForce, Known, by_code, index_for
from registry.policy import DOMAINS, Policy, find_policy, policies
from registry.status import Act, EntryStatus, status
from registry.tables import Action, Entry

MAX_CODES = 10_000


STATUSES = ("restricted", "clear", "not_found", "invalid")


@dataclass(frozen=True, slots=True)
class Check:
    """One code's answer. ``status``: ``restricted`` (an entry in force applies a measure in the
    domain), ``clear`` (an enterprise the store holds, with none), ``not_found`` (no enterprise
    with this code in the store as of the date) or ``invalid`` (not a USCC; ``note`` says why)."""

    uscc: str
    domain: str
    as_of: dt.date
    status: str
    name: str | None = None
    note: str | None = None
    measures: tuple[dict[str, str], ...] = ()  # {list_type, measure, basis}
    entries: tuple[InForce, ...] = ()
    ref: str | None = None
    grade: str | None = None  # the credit grade, when the caller gave grades
    incentives: tuple[dict[str, str], ...] = ()  # {policy, measure, basis}: clear and grade A

    @property
    def restricted(self) -> bool:
        return self.status == "restricted"


@lru_cache(maxsize=256)
def _measure(policy: str, list_type: str, domain: str) -> dict[str, str]:
    m = find_policy(policy).measure(domain)
    return {"list_type": list_type, "measure": m.measure, "basis": MARKER.sub("", m.basis).strip()}


@lru_cache(maxsize=1024)
def _offers(domain: str, as_of: dt.date) -> tuple[dict[str, str], ...]:
    """The incentives for honest enterprises that the policies in force on ``as_of`` (the
    newest version of each) offer in ``domain``."""
    newest: dict[str, Policy] = {}
    for p in policies().values():
        in_force = (p.events_from or as_of) <= as_of <= (p.events_until or as_of)
        if in_force and (p.id not in newest or p.version > newest[p.id].version):
            newest[p.id] = p
    return tuple(
        {"policy": p.key, "measure": m.measure, "basis": MARKER.sub("", m.basis).strip()}
        for p in newest.values()
        for m in p.incentives
        if m.domain == domain
    )


@lru_cache(maxsize=1 << 18)
def _well_formed(code: str) -> bool:
    return SHAPE.fullmatch(code) is not None and check_character(code[:17]) == code[17]


def _codes(usccs: Collection[str]) -> list[str]:
    codes = sorted({str(u).strip().upper() for u in usccs})
    if len(codes) > MAX_CODES:
        raise InputError(f"at most {MAX_CODES} codes per check, got {len(codes)}")
    return codes


def code_problem(code: str, known: bool) -> tuple[str | None, str | None]:
    """(why ``code`` is invalid, a note on a failed check character the store accepted)."""
    if _well_formed(code):
        return None, None
    shape = None if SHAPE.fullmatch(code) else shape_problem(code)
    if shape is not None:
        return shape, None
    expected = check_character(code[:17])
    if expected == code[17]:
        return None, None
    why = f"USCC check character is {code[17]!r}, GB 32100-2015 gives {expected!r}"
    return (None, why + "; the event store holds this code") if known else (why, None)


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
    session: Session,
    *,
    usccs: Sequence[str],
    domain: str,
    as_of: dt.date,
    known: Known | None = None,
    refs: Sequence[str | None] | None = None,
    grades: Mapping[str, str] | Callable[[list[str]], Mapping[str, str]] | None = None,
) -> list[Check]:
    """One answer per code asked, in the order asked: its status in ``domain`` on ``as_of`` as
    the registry knew it (``known``: now by default), the measures, the entries in force with
    their grounds and persons, and — for a clear enterprise whose grade is A and that never had
    a record — the incentives the policies offer. ``grades``: the credit grades by code, or a
    function giving those of the clear codes it is called with."""
    if domain not in DOMAINS:
        raise InputError(f"domain: unknown {domain!r}; domains: {list(DOMAINS)}")
    if len(usccs) > MAX_CODES:
        raise InputError(f"usccs: at most {MAX_CODES} codes per check, got {len(usccs)}")
    if refs is not None and len(refs) != len(usccs):
        raise InputError("refs: one per code")
    index = index_for(session)
    codes = [str(u).strip().upper() for u in usccs]
    distinct = list(dict.fromkeys(codes))
    firms = index.held(session, distinct, as_of, (known or index.known).load)
    return _answers(index, firms, codes, domain, as_of, known, refs, grades)


def check_frozen(
    frozen: Frozen,
    *,
    usccs: Sequence[str],
    domain: str,
    as_of: dt.date,
    refs: Sequence[str | None] | None = None,
    grades: Mapping[str, str] | Callable[[list[str]], Mapping[str, str]] | None = None,
) -> list[Check] | None:
    """:func:`check` answered from ``frozen`` (the registry as known at ``frozen.known``), no
    database read; None when ``frozen`` has not read the enterprise versions of some code."""
    if domain not in DOMAINS:
        raise InputError(f"domain: unknown {domain!r}; domains: {list(DOMAINS)}")
    if len(usccs) > MAX_CODES:
        raise InputError(f"usccs: at most {MAX_CODES} codes per check, got {len(usccs)}")
    if refs is not None and len(refs) != len(usccs):
        raise InputError("refs: one per code")
    codes = [str(u).strip().upper() for u in usccs]
    firms = frozen.held(list(dict.fromkeys(codes)), as_of)
    if firms is None:
        return None
    return _answers(frozen, firms, codes, domain, as_of, None, refs, grades)


class Source(Protocol):
    """What a check reads the registry through: the live index or a frozen one."""

    def in_force(
        self, usccs: Sequence[str], as_of: dt.date, known: Known | None = None
    ) -> list[InForce]: ...

    def ever_published(self, uscc: str, as_of: dt.date, known: Known | None = None) -> bool: ...


def _answers(
    index: Source,
    firms: Mapping[str, str | None],
    codes: list[str],
    domain: str,
    as_of: dt.date,
    known: Known | None,
    refs: Sequence[str | None] | None,
    grades: Mapping[str, str] | Callable[[list[str]], Mapping[str, str]] | None,
) -> list[Check]:
    found = by_code(index.in_force(list(dict.fromkeys(codes)), as_of, known))
    out: list[Check] = []
    for i, code in enumerate(codes):
        ref = refs[i] if refs is not None else None
        held, name = code in firms, firms.get(code)
        invalid, note = code_problem(code, held)
        if invalid is not None:
            out.append(Check(code, domain, as_of, "invalid", note=invalid, ref=ref))
            continue
        listed = found.get(code)
        if listed:
            measures = {
                item.list_type: _measure(item.policy, item.list_type, domain) for item in listed
            }
            state = "restricted"
            out.append(
                Check(
                    code,
                    domain,
                    as_of,
                    state,
                    name or listed[0].name,
                    note,
                    tuple(measures.values()),
                    tuple(listed),
                    ref,
                )
            )
            continue
        if not held:
            out.append(Check(code, domain, as_of, "not_found", note=note, ref=ref))
            continue
        out.append(Check(code, domain, as_of, "clear", name, note, ref=ref))
    if grades is None:
        return out
    clear = list(dict.fromkeys(c.uscc for c in out if c.status == "clear"))
    graded = grades(clear) if callable(grades) else grades
    for i, c in enumerate(out):
        grade = graded.get(c.uscc)
        if c.status == "clear" and grade is not None:
            offers: tuple[dict[str, str], ...] = ()
            if grade == "A" and not index.ever_published(c.uscc, as_of, known):
                offers = _offers(domain, as_of)
            out[i] = replace(c, grade=grade, incentives=offers)
        elif c.status == "restricted":
            out[i] = replace(c, grade=graded.get(c.uscc))
    return out
