"""Watchlists: named sets of USCCs a key watches. Insurers, approval offices and regulators
watch any codes; an enterprise key only its own. Codes are validated (GB 32100-2015: shape and
check character) and every bad one is named; a request with one bad code changes nothing.
Query functions take the session and never commit."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from features.tables import Enterprise
from features.uscc import check_problems
from registry import clock
from registry.tables import Entry
from service.engine.keys import Principal
from service.engine.notify.errors import (
    NotifyConflict,
    NotifyForbidden,
    NotifyInputError,
    NotifyNotFound,
)
from service.store.notify_tables import WatchedCode, Watchlist

WATCHERS = ("insurer", "approval_office", "regulator", "enterprise")
NAMED = 20  # bad codes named in an error; the rest counted
CHUNK = 5_000  # codes per statement


@dataclass(frozen=True)
class ListInfo:
    watchlist_id: str
    name: str
    codes: int
    created_at: dt.datetime


def known_codes(session: Session, codes: Sequence[str]) -> set[str]:
    """Those of ``codes`` the event store or the registry holds."""
    found: set[str] = set()
    for start in range(0, len(codes), CHUNK):
        part = list(codes[start : start + CHUNK])
        found.update(session.scalars(select(Enterprise.uscc).where(Enterprise.uscc.in_(part))))
        found.update(session.scalars(select(Entry.uscc).where(Entry.uscc.in_(part))))
    return found


def valid_codes(
    codes: Sequence[str],
    *,
    principal: Principal,
    most: int,
    session: Session | None = None,
) -> list[str]:
    """The codes upper-cased and without repeats, in order; :class:`NotifyInputError` naming
    each bad one (by position), or :class:`NotifyForbidden` for an enterprise's other codes.
    With ``session``, a code whose only fault is its check character is accepted when the event
    store or the registry holds it (some early pilot-area codes fail the check legitimately)."""
    if principal.role not in WATCHERS:
        raise NotifyForbidden(f"a {principal.role} key keeps no watchlists")
    if len(codes) > most:
        raise NotifyInputError(f"codes: {len(codes):,} given, at most {most:,} per request")
    s = pd.Series([str(c).strip().upper() for c in codes], dtype=object)
    shape, wrong = check_problems(s)
    if session is not None and bool(wrong.any()):
        suspect = sorted({s[i] for i in range(len(s)) if wrong[i] and not shape[i]})
        real = known_codes(session, suspect)
        wrong = wrong & ~s.isin(real)
    bad = [
        f"codes[{i}] {s[i]!r}: {shape[i] or 'check character is wrong'}"
        for i in range(len(s))
        if shape[i] or wrong[i]
    ]
    if bad:
        more = f"; … {len(bad) - NAMED} more" if len(bad) > NAMED else ""
        raise NotifyInputError(f"{len(bad)} bad code(s): " + "; ".join(bad[:NAMED]) + more)
    out = list(dict.fromkeys(s.tolist()))
    if principal.role == "enterprise" and any(c != principal.uscc for c in out):
        raise NotifyForbidden(f"an enterprise key may watch only itself ({principal.uscc})")
    return out


def _own(session: Session, *, principal: Principal, watchlist_id: str) -> Watchlist:
    row = session.get(Watchlist, watchlist_id)
    if row is None or row.key_id != principal.key_id:
        raise NotifyNotFound(f"watchlist_id: no watchlist {watchlist_id!r} of this key")
    return row


def create_watchlist(
    session: Session, *, principal: Principal, name: str, codes: Sequence[str], most: int
) -> Watchlist:
    name = name.strip()
    if not name or len(name) > 200:
        raise NotifyInputError("name: between 1 and 200 characters")
    wanted = valid_codes(codes, principal=principal, most=most, session=session)
    row = Watchlist(
        watchlist_id=uuid.uuid4().hex, key_id=principal.key_id, name=name, created_at=clock.now()
    )
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise NotifyConflict(f"name: this key has a watchlist named {name!r} already") from None
    _insert(session, row.watchlist_id, wanted)
    return row


def _insert(session: Session, watchlist_id: str, codes: list[str]) -> int:
    if not codes:
        return 0
    have: set[str] = set()
    for start in range(0, len(codes), CHUNK):
        part = codes[start : start + CHUNK]
        have.update(
            session.scalars(
                select(WatchedCode.uscc).where(
                    WatchedCode.watchlist_id == watchlist_id, WatchedCode.uscc.in_(part)
                )
            )
        )
    new = [c for c in codes if c not in have]
    for start in range(0, len(new), CHUNK):
        session.execute(
            insert(WatchedCode),
            [{"watchlist_id": watchlist_id, "uscc": c} for c in new[start : start + CHUNK]],
        )
    return len(new)


def add_codes(
    session: Session,
    *,
    principal: Principal,
    watchlist_id: str,
    codes: Sequence[str],
    most: int,
) -> int:
    """Add the codes (those watched already are left as they are); how many were new."""
    wanted = valid_codes(codes, principal=principal, most=most, session=session)
    _own(session, principal=principal, watchlist_id=watchlist_id)
    return _insert(session, watchlist_id, wanted)


def remove_codes(
    session: Session,
    *,
    principal: Principal,
    watchlist_id: str,
    codes: Sequence[str],
    most: int,
) -> int:
    """Remove the codes; how many were watched."""
    wanted = valid_codes(codes, principal=principal, most=most, session=session)
    _own(session, principal=principal, watchlist_id=watchlist_id)
    gone = 0
    for start in range(0, len(wanted), CHUNK):
        result = session.execute(
            delete(WatchedCode).where(
                WatchedCode.watchlist_id == watchlist_id,
                WatchedCode.uscc.in_(wanted[start : start + CHUNK]),
            )
        )
        gone += result.rowcount  # type: ignore[attr-defined]
    return gone


def watchlists(session: Session, *, principal: Principal) -> list[ListInfo]:
    """The key's watchlists, by name, each with how many codes it holds."""
    counts = (
        select(WatchedCode.watchlist_id, func.count().label("n"))
        .group_by(WatchedCode.watchlist_id)
        .subquery()
    )
    rows = session.execute(
        select(Watchlist, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.watchlist_id == Watchlist.watchlist_id)
        .where(Watchlist.key_id == principal.key_id)
        .order_by(Watchlist.name)
    ).all()
    return [ListInfo(w.watchlist_id, w.name, int(n), w.created_at) for w, n in rows]


def codes_of(
    session: Session, *, principal: Principal, watchlist_id: str, after: str, limit: int
) -> list[str]:
    """A page of the watchlist's codes, in order, after ``after`` ("" for the first)."""
    _own(session, principal=principal, watchlist_id=watchlist_id)
    return list(
        session.scalars(
            select(WatchedCode.uscc)
            .where(WatchedCode.watchlist_id == watchlist_id, WatchedCode.uscc > after)
            .order_by(WatchedCode.uscc)
            .limit(limit)
        )
    )


def size(session: Session, *, watchlist_id: str) -> int:
    """How many codes the watchlist holds."""
    n = session.scalar(
        select(func.count())
        .select_from(WatchedCode)
        .where(WatchedCode.watchlist_id == watchlist_id)
    )
    return int(n or 0)


def delete_watchlist(session: Session, *, principal: Principal, watchlist_id: str) -> ListInfo:
    row = _own(session, principal=principal, watchlist_id=watchlist_id)
    info = ListInfo(
        row.watchlist_id, row.name, size(session, watchlist_id=watchlist_id), row.created_at
    )
    session.execute(delete(WatchedCode).where(WatchedCode.watchlist_id == watchlist_id))
    session.delete(row)
    session.flush()
    return info
