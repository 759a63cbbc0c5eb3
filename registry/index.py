"""An in-process index of the registry for checks, kept fresh by the chain head.

The action chain is append-only and its head (length, hash) commits to every action, so the head
is an exact freshness token: each check reads the head (one row), appends the actions added since
(``chain_seq`` beyond the cached length), and falls back to a full reload if the cached prefix is
no longer the database's. For each entry the index holds the dates between which it was in force,
each with the :class:`~registry.status.EntryStatus` that :func:`~registry.status.status` derives
for that stretch; a check is then a vectorised interval test over numpy arrays.

Status is bitemporal: what was in force on a day *as the registry knew it* at a moment. The
chain is recorded in order (``recorded_at`` never falls along ``chain_seq``), so "known at t" is a
prefix of the chain, :class:`Known` names it (with the last history load then known), and a
check answered against a prefix answers the same forever, however the registry is corrected
later. The current prefix is the interval test; an earlier one derives each asked entry's status
from its actions in that prefix. The index also knows which enterprises the event store holds
(and under which names, on which day) so that a code no enterprise has reads as not found.
"""

from __future__ import annotations

import bisect
import datetime as dt
import gc
import json
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from features.tables import Enterprise, Load
from registry.clock import naive_utc
from registry.policy import find_policy
from registry.status import Act, EntryStatus, status
from registry.tables import GENESIS, Action, ChainHead, Entry

END = np.datetime64("9999-12-31", "D")
NEEDS_DETAILS = ("notify", "decide", "approve_repair", "correct")
CHAIN_READ = "registry.chain_read"  # session.info key: (transaction, length, head, load)
# read by every check, built once: the chain head and the event store's last load
HEAD = select(
    ChainHead.length,
    ChainHead.head_hash,
    select(func.coalesce(func.max(Load.load_id), 0)).scalar_subquery(),
    select(Load.loaded_at).order_by(Load.load_id.desc()).limit(1).scalar_subquery(),
)
FIRMS_MAX = 1_000_000  # codes whose enterprise versions the index keeps at most
MARKER = re.compile(r"\s*\[(?:V|P|R)\b[^\]]*\]")  # a policy file's sourcing markers


@dataclass(frozen=True, slots=True, order=True)
class Known:
    """What the registry knew at a moment: the first ``chain`` actions and the history loads up
    to ``load``."""

    chain: int
    load: int


@dataclass(frozen=True, slots=True)
class Ground:
    """A rule an entry's penalty decision meets, as a reader sees it."""

    rule: str
    title: str
    basis: str  # without the policy file's sourcing markers
    evidence: tuple[tuple[str, str], ...]
    event_on: dt.date


@lru_cache(maxsize=4096)
def _parse(text: str) -> Any:
    return json.loads(text)


@lru_cache(maxsize=1024)
def _rule_text(policy: str, rule: str) -> tuple[str, str]:
    found = find_policy(policy).rule(rule)
    return found.title, MARKER.sub("", found.basis).strip()


def _grounds(policy: str, grounds: list[dict[str, Any]]) -> tuple[Ground, ...]:
    return tuple(
        Ground(
            g["rule"],
            *_rule_text(policy, g["rule"]),
            tuple((e["table"], e["id"]) for e in g["evidence"]),
            dt.date.fromisoformat(g["event_on"]),
        )
        for g in grounds
    )


@dataclass(frozen=True, slots=True)
class InForce:
    """An entry in force, as a check reports it (the same on every day of its stretch)."""

    uscc: str
    entry_id: str
    list_type: str
    policy: str
    rule: str
    evidence: tuple[tuple[str, str], ...]
    penalty_decision_id: str
    department: str
    decided_on: dt.date | None
    published_on: dt.date | None
    term_ends_on: dt.date | None
    automatic_removal: bool
    earliest_repair_on: dt.date | None
    state: str
    name: str | None = None  # as corrected by the day
    persons: tuple[tuple[str, str], ...] = ()  # (role, name) listed with the unit
    grounds: tuple[Ground, ...] = ()


@dataclass
class Interval:
    entry_id: str
    start: dt.date
    end: dt.date | None  # first day no longer in force; None: open
    status: EntryStatus
    view: InForce | None = None


def intervals(entry_id: str, acts: Sequence[Act]) -> list[Interval]:
    """The stretches in which the entry is in force, with the status derived for each."""
    days = sorted({a.acted_on for a in acts})
    out = []
    for i, day in enumerate(days):
        st = status(acts, on=day)
        if not st.in_force:
            continue
        seg_end = days[i + 1] if i + 1 < len(days) else None
        stop = st.removed_on or (st.term_ends_on if st.automatic_removal else None)
        end = stop if seg_end is None else (seg_end if stop is None else min(stop, seg_end))
        if end is None or end > day:
            out.append(Interval(entry_id, day, end, st))
    return out


@dataclass
class RegistryIndex:
    length: int = 0
    head: str = GENESIS
    load: int = 0  # the event store's last load, as last read
    loaded_at: Any = None  # … and when it was loaded: with ``load``, the event store's version
    # the enterprise versions of the codes asked about, by code (empty: no such enterprise),
    # kept while the event store's last load stays the same
    firms: dict[str, tuple[tuple[dt.date, int, str | None], ...]] = field(default_factory=dict)
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    acts: dict[str, list[Act]] = field(default_factory=dict)
    spans: dict[str, list[Interval]] = field(default_factory=dict)
    by_uscc: dict[str, list[str]] = field(default_factory=dict)  # entry ids of each code
    times: list[dt.datetime] = field(default_factory=list)  # recorded_at by chain_seq - 1
    lock: threading.Lock = field(default_factory=threading.Lock)
    # flat arrays over all intervals
    uscc_ids: dict[str, int] = field(default_factory=dict)
    a_uscc: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    a_start: np.ndarray = field(default_factory=lambda: np.empty(0, "datetime64[D]"))
    a_end: np.ndarray = field(default_factory=lambda: np.empty(0, "datetime64[D]"))
    a_items: list[Interval] = field(default_factory=list)

    def refresh(self, session: Session) -> RegistryIndex:
        # the session's connection first, the lock second, always: a thread holding the lock
        # while it waits for a pooled connection, held by threads waiting for the lock, would
        # wait for ever (seen under load with a pool smaller than the thread pool)
        connection = session.connection()
        with self.lock:
            length, head, load, loaded_at = connection.execute(HEAD).one()
            session.info[CHAIN_READ] = (session.get_transaction(), length, head, load)
            if (load, loaded_at) != (self.load, self.loaded_at) or len(self.firms) > FIRMS_MAX:
                self.firms = {}
            self.load, self.loaded_at = load, loaded_at
            if (length, head) == (self.length, self.head):
                return self
            known = self.length and session.scalar(
                select(Action.hash).where(Action.chain_seq == self.length)
            )
            if length < self.length or (self.length and known != self.head):
                self._reset()  # the cached prefix is no longer the database's: start again
            self._append(session, length, head)
        return self

    @property
    def known(self) -> Known:
        """What the index knows now."""
        return Known(self.length, self.load)

    def known_at(self, session: Session, moment: dt.datetime) -> Known:
        """What the registry knew at ``moment`` (actions and loads recorded by then)."""
        chain = bisect.bisect_right(self.times, naive_utc(moment))
        at = moment.astimezone(dt.UTC)
        load = session.scalar(select(func.max(Load.load_id)).where(Load.loaded_at <= at))
        return Known(chain, load or 0)

    def _reset(self) -> None:
        self.length, self.head = 0, GENESIS
        self.entries, self.acts, self.spans, self.uscc_ids = {}, {}, {}, {}
        self.by_uscc, self.times = {}, []

    def _append(self, session: Session, length: int, head: str) -> None:
        details = cast(Action.details, Text)
        rows = session.execute(
            select(
                Action.entry_id,
                Action.action,
                Action.acted_on,
                details.label("details"),
                Action.chain_seq,
                Action.recorded_at,
            )
            .where(Action.chain_seq > self.length, Action.chain_seq <= length)
            .order_by(Action.entry_id, Action.seq)
        ).all()
        touched = sorted({r[0] for r in rows})
        fresh = [t for t in touched if t not in self.entries]
        for start in range(0, len(fresh), 5_000):
            for e in session.execute(
                select(
                    Entry.entry_id,
                    Entry.uscc,
                    Entry.list_type,
                    Entry.policy_id,
                    Entry.policy_version,
                    Entry.rule,
                    cast(Entry.evidence, Text),
                    Entry.penalty_decision_id,
                    Entry.department,
                    Entry.name,
                    cast(Entry.persons, Text),
                    cast(Entry.grounds, Text),
                ).where(Entry.entry_id.in_(fresh[start : start + 5_000]))
            ).all():
                self.entries[e[0]] = {
                    "entry_id": e[0],
                    "uscc": e[1],
                    "list_type": e[2],
                    "policy_id": e[3],
                    "policy_version": e[4],
                    "rule": e[5],
                    "evidence": e[6],
                    "penalty_decision_id": e[7],
                    "department": e[8],
                    "name": e[9],
                    "persons": e[10],
                    "grounds": e[11],
                }
                self.by_uscc.setdefault(e[1], []).append(e[0])
        self._recorded_entries(session, [t for t in fresh if t not in self.entries])
        rows = [r for r in rows if r[0] in self.entries]
        touched = [t for t in touched if t in self.entries]
        recorded = sorted((r[4], naive_utc(r[5])) for r in rows)
        for _, at in recorded:  # never falling, whatever the clock did
            self.times.append(max(at, self.times[-1]) if self.times else at)
        for entry_id, kind, on, text, chain_seq, _ in rows:
            parsed = _parse(text) if kind in NEEDS_DETAILS else {}
            self.acts.setdefault(entry_id, []).append(Act(kind, on, parsed, chain_seq))
        for entry_id in touched:
            self.spans[entry_id] = intervals(entry_id, self.acts[entry_id])
        self.length, self.head = length, head
        self._flatten()
        # The index is long-lived: move it out of the collector's young generations, or each
        # check's short-lived objects would trigger full passes over it.
        gc.freeze()

    def held(
        self, session: Session, usccs: Sequence[str], as_of: dt.date, load: int
    ) -> dict[str, str | None]:
        """The codes of ``usccs`` that the event store holds an enterprise for as of ``as_of``
        (from the loads up to ``load``), each with its name then. Versions are read once per
        code and event-store version (refresh forgets them when a load is added)."""
        firms = self.firms
        missing = [u for u in usccs if u not in firms]
        for start in range(0, len(missing), 5_000):
            chunk = missing[start : start + 5_000]
            found: dict[str, list[tuple[dt.date, int, str | None]]] = {u: [] for u in chunk}
            e = Enterprise
            for code, known_from, load_id, firm in session.execute(
                select(e.uscc, e.known_from, e.load_id, e.name)
                .where(e.uscc.in_(chunk))
                .order_by(e.uscc, e.known_from, e.version_id)
            ):
                found[code].append((known_from, load_id, firm))
            firms.update((u, tuple(v)) for u, v in found.items())
        out: dict[str, str | None] = {}
        for uscc in usccs:
            for known_from, load_id, name in reversed(firms[uscc]):
                if known_from <= as_of and load_id <= load:
                    out[uscc] = name  # the latest version known then
                    break
        return out

    def hold_all(self, session: Session) -> None:
        """Read the enterprise versions of every code the event store holds (at most
        ``FIRMS_MAX`` codes: none beyond), so that :meth:`held` reads nothing more until the
        next load."""
        e = Enterprise
        if (session.scalar(select(func.count(func.distinct(e.uscc)))) or 0) > FIRMS_MAX:
            return
        found: dict[str, list[tuple[dt.date, int, str | None]]] = {}
        for code, known_from, load_id, firm in session.execute(
            select(e.uscc, e.known_from, e.load_id, e.name).order_by(
                e.uscc, e.known_from, e.version_id
            )
        ):
            found.setdefault(code, []).append((known_from, load_id, firm))
        self.firms.update((u, tuple(v)) for u, v in found.items())

    def _recorded_entries(self, session: Session, missing: list[str]) -> None:
        """Entries whose row is gone (deleted by hand: ``verify`` names it) as their propose
        action recorded them: the chain, not the table, says what was listed."""
        if not missing:
            return
        for entry_id, text in session.execute(
            select(Action.entry_id, cast(Action.details, Text)).where(
                Action.entry_id.in_(missing), Action.action == "propose"
            )
        ):
            e = json.loads(text).get("entry") or {}
            self.entries[entry_id] = {
                "entry_id": entry_id,
                "uscc": e.get("uscc", ""),
                "list_type": e.get("list_type", ""),
                "policy_id": e.get("policy_id", ""),
                "policy_version": e.get("policy_version", ""),
                "rule": e.get("rule", ""),
                "evidence": json.dumps(e.get("evidence", [])),
                "penalty_decision_id": e.get("penalty_decision_id", ""),
                "department": e.get("department", ""),
                "name": e.get("name"),
                "persons": json.dumps(e.get("persons", [])),
                "grounds": json.dumps(e.get("grounds", [])),
            }
            self.by_uscc.setdefault(e.get("uscc", ""), []).append(entry_id)

    def _flatten(self) -> None:
        items = [iv for spans in self.spans.values() for iv in spans]
        for iv in items:
            self.uscc_ids.setdefault(self.entries[iv.entry_id]["uscc"], len(self.uscc_ids))
        self.a_items = items
        self.a_uscc = np.fromiter(
            (self.uscc_ids[self.entries[iv.entry_id]["uscc"]] for iv in items), np.int64, len(items)
        )
        self.a_start = np.array([iv.start for iv in items], "datetime64[D]")
        self.a_end = np.array([iv.end or dt.date.max for iv in items], "datetime64[D]")

    def in_force(
        self, usccs: Sequence[str], as_of: dt.date, known: Known | None = None
    ) -> list[InForce]:
        """Every entry of ``usccs`` in force on ``as_of``, as the registry knew it then
        (``known``; now by default)."""
        if known is not None and known.chain < self.length:
            return self._in_force_known(usccs, as_of, known.chain)
        ids = [self.uscc_ids[u] for u in usccs if u in self.uscc_ids]
        if not ids or not len(self.a_items):
            return []
        day = np.datetime64(as_of, "D")
        hit = np.isin(self.a_uscc, np.array(ids)) & (self.a_start <= day) & (day < self.a_end)
        return [self._view(self.a_items[i]) for i in np.flatnonzero(hit)]

    def _in_force_known(self, usccs: Sequence[str], as_of: dt.date, chain: int) -> list[InForce]:
        out = []
        for uscc in dict.fromkeys(usccs):
            for entry_id in self.by_uscc.get(uscc, ()):
                acts = [a for a in self.acts[entry_id] if a.chain_seq <= chain]
                if not acts:
                    continue
                st = status(acts, on=as_of)
                if st.in_force:
                    out.append(self._make_view(entry_id, st, acts, as_of))
        return out

    def ever_published(self, uscc: str, as_of: dt.date, known: Known | None = None) -> bool:
        """Whether any entry of ``uscc`` was published by ``as_of`` (as known): a record."""
        chain = self.length if known is None else known.chain
        return any(
            a.action == "publish" and a.acted_on <= as_of and a.chain_seq <= chain
            for entry_id in self.by_uscc.get(uscc, ())
            for a in self.acts[entry_id]
        )

    def view(self, known: Known) -> KnownView:
        """The index as of ``known``, answering :meth:`in_force` as it was answered then."""
        return KnownView(self, known)

    def snapshot(self, dates: Iterable[dt.date]) -> InForceOn:
        """The entries in force on each of ``dates``, looked up now: a small, picklable
        stand-in for the index where no database is at hand (Spark executors)."""
        codes = list(self.uscc_ids)
        return InForceOn({day: by_code(self.in_force(codes, day)) for day in dict.fromkeys(dates)})

    def views(self) -> tuple[InForce, ...]:
        """Each interval's entry as a check shows it, in the flat arrays' order."""
        return tuple(self._view(iv) for iv in self.a_items)

    def _view(self, iv: Interval) -> InForce:
        if iv.view is None:
            iv.view = self._make_view(iv.entry_id, iv.status, self.acts[iv.entry_id], iv.start)
        return iv.view

    def _make_view(
        self, entry_id: str, st: EntryStatus, acts: Sequence[Act], on: dt.date
    ) -> InForce:
        row = self.entries[entry_id]
        policy = f"{row['policy_id']}@{row['policy_version']}"
        fixes: dict[str, Any] = {}
        for a in acts:
            if a.action == "correct" and a.acted_on <= on:
                fixes.update(a.details.get("corrections", {}))
        persons = fixes["persons"] if "persons" in fixes else json.loads(row["persons"] or "[]")
        return InForce(
            uscc=row["uscc"],
            entry_id=row["entry_id"],
            list_type=row["list_type"],
            policy=policy,
            rule=row["rule"],
            evidence=tuple((e["table"], e["id"]) for e in json.loads(row["evidence"])),
            penalty_decision_id=row["penalty_decision_id"],
            department=row["department"],
            decided_on=st.decided_on,
            published_on=st.published_on,
            term_ends_on=st.term_ends_on,
            automatic_removal=st.automatic_removal,
            earliest_repair_on=st.earliest_repair_on,
            state=st.state,
            name=fixes.get("name", row["name"]),
            persons=tuple((p["role"], p["name"]) for p in persons),
            grounds=_grounds(policy, json.loads(row["grounds"] or "[]")),
        )


@dataclass(frozen=True)
class KnownView:
    """The index as the registry knew it at one moment (see :meth:`RegistryIndex.view`)."""

    index: RegistryIndex
    known: Known

    def in_force(self, usccs: Sequence[str], as_of: dt.date) -> list[InForce]:
        return self.index.in_force(usccs, as_of, self.known)


def by_code(items: Iterable[InForce]) -> dict[str, list[InForce]]:
    """Entries in force grouped by USCC, each code's in the order given."""
    found: dict[str, list[InForce]] = {}
    for item in items:
        found.setdefault(item.uscc, []).append(item)
    return found


@dataclass(frozen=True)
class InForceOn:
    """Entries in force on a few dates, by code (made by :meth:`RegistryIndex.snapshot`);
    answers :meth:`in_force` as the index does, for those dates only."""

    by_date: dict[dt.date, dict[str, list[InForce]]]

    def in_force(self, usccs: Sequence[str], as_of: dt.date) -> list[InForce]:
        if as_of not in self.by_date:
            raise KeyError(f"no snapshot of the registry for {as_of}")
        found = self.by_date[as_of]
        return [item for u in dict.fromkeys(usccs) for item in found.get(u, [])]


def chain_read(session: Session) -> tuple[int, str, int] | None:
    """The chain head (length, hash) and last load an index refresh read in the session's
    current transaction, if one did: what that transaction's checks were answered against."""
    found = session.info.get(CHAIN_READ)
    if found is None or found[0] is not session.get_transaction():
        return None
    return found[1], found[2], found[3]


_INDEXES: dict[str, RegistryIndex] = {}
_GUARD = threading.Lock()


def index_for(session: Session) -> RegistryIndex:
    """The index of the database behind ``session``, brought up to its chain head."""
    key = str(session.get_bind().engine.url)
    with _GUARD:
        index = _INDEXES.setdefault(key, RegistryIndex())
    return index.refresh(session)
