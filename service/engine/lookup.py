"""Finding enterprises by name for the approval-office desk: by the start of the name or by
words anywhere in it, the newest name of each code first known by the day asked.

Indexed so that it stays fast at a million enterprises: a prefix is a range on the B-tree
``ix_enterprises_name`` (every backend); "contains" uses the trigram GIN index of migration
0008 on PostgreSQL (``ILIKE '%…%'``). SQLite has no trigram index: there "contains" reads the
names (a sane fallback for the embedded default, bounded by ``limit``). Query functions take the
session and never commit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from features.tables import Enterprise

Mode = Literal["prefix", "contains"]
MODES: tuple[Mode, ...] = ("prefix", "contains")
MIN_CHARACTERS = 2  # fewer would match half the province
TOP = "\U0010ffff"  # sorts after any character a name may hold


@dataclass(frozen=True, slots=True)
class Found:
    uscc: str
    name: str


class BadLookup(ValueError):
    """A lookup that cannot be asked (too short, unknown mode)."""


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_by_name(
    session: Session, *, text: str, mode: Mode, as_of: dt.date, limit: int = 50
) -> list[Found]:
    """Up to ``limit`` enterprises whose name as known on ``as_of`` starts with (``prefix``) or
    contains (``contains``) ``text``, by name. A code that was renamed is found by its newest
    name known then (an older name that matches is not its name any more)."""
    words = " ".join(text.split())
    if mode not in MODES:
        raise BadLookup(f"mode: {mode!r} is not one of {', '.join(MODES)}")
    if len(words) < MIN_CHARACTERS:
        raise BadLookup(f"name: give at least {MIN_CHARACTERS} characters")
    e = Enterprise
    if mode == "prefix":
        matches = and_(e.name >= words, e.name < words + TOP)
    elif session.get_bind().dialect.name == "postgresql":
        matches = e.name.ilike(f"%{_escaped(words)}%", escape="\\")
    else:
        matches = e.name.like(f"%{_escaped(words)}%", escape="\\")
    candidates = (
        select(e.uscc)
        .where(matches, e.known_from <= as_of)
        .distinct()
        .limit(limit * 4)  # renamed codes fall out below: ask for some spare
        .subquery()
    )
    newest = (
        select(e.uscc, func.max(e.known_from).label("known_from"))
        .where(e.uscc.in_(select(candidates.c.uscc)), e.known_from <= as_of)
        .group_by(e.uscc)
        .subquery()
    )
    rows = session.execute(
        select(e.uscc, e.name, e.version_id)
        .join(newest, and_(newest.c.uscc == e.uscc, newest.c.known_from == e.known_from))
        .order_by(e.uscc, e.version_id)
    ).all()
    names: dict[str, str] = {}
    for uscc, name, _ in rows:
        names[uscc] = name  # the last version recorded that day
    folded = words.casefold()
    found = [
        Found(u, n)
        for u, n in names.items()
        if (n.startswith(words) if mode == "prefix" else folded in n.casefold())
    ]
    return sorted(found, key=lambda f: (f.name, f.uscc))[:limit]
