"""Score books: every enterprise scored as of a day in one batch and kept in memory, so that a
score or a quote on that day is a lookup instead of a computation.

A book is exact, not a cache that may drift: it is tied to the event store's last load and to
the scorer's versions (a new load or a new champion retires it, and answers are computed as
before until the next book is ready), and what changes without a load — the listings in force —
is still read from the registry index at answer time. The answers a book gives are the ones
:func:`service.engine.decisions.score_batch` computes (tested), and the ledger's replay
recomputes them.
A book also keeps the enterprise records and accidents known on its day, from the same load, so
that a quote on that day reads nothing from the event store either.
Books are built in a background thread, one day at a time.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from features.store import read_history
from features.tables import Load
from models.explain import Scored
from models.tariff.experience import Records
from registry.index import by_code, index_for
from service.engine.decisions import Batch, Listings, Scorer, score_batch
from service.store.db import unhurried

log = logging.getLogger(__name__)
TODAY = "today"


LAST_LOAD = select(func.max(Load.load_id))


def last_load(session: Session) -> int:
    """The newest load of the event store (0: none): what a book was computed from. Read on
    every answer from a book, so through the session's connection with a statement built once
    (the ORM's execution path would add a third to the answer's reads)."""
    return session.connection().execute(LAST_LOAD).scalar() or 0


def book_days(days: Sequence[str], today: dt.date | None = None) -> list[dt.date]:
    """The days named in the settings (ISO dates or ``today``), in order, without repeats."""
    out: list[dt.date] = []
    for day in days:
        d = (today or dt.date.today()) if day == TODAY else dt.date.fromisoformat(day)
        if d not in out:
            out.append(d)
    return out


@dataclass(frozen=True)
class Book:
    as_of: dt.date
    load_id: int
    versions: dict[str, str]
    rows: dict[str, int]  # uscc → row of ``scored``
    scored: Scored
    grave: frozenset[str]  # codes with a recent grave accident (the cap override)
    records: Records  # the enterprise records and accidents known on the day, for quotes
    seconds: float  # how long it took to build

    def batch(self, session: Session, usccs: Sequence[str]) -> Batch | None:
        """The batch of ``usccs`` as :func:`score_batch` would compute it (listings read now);
        None when some code is not in the book (not an enterprise known on the day)."""
        return self.batch_of(usccs, index_for(session))

    def batch_of(self, usccs: Sequence[str], listings: Listings) -> Batch | None:
        """:meth:`batch`, the listings in force read from ``listings``."""
        rows = [self.rows.get(u) for u in usccs]
        if any(r is None for r in rows):
            return None
        found = by_code(listings.in_force(usccs, self.as_of))
        taken = self.scored.take(np.array(rows, dtype=np.int64))
        return Batch(list(usccs), self.as_of, taken, found, set(self.grave.intersection(usccs)))


class Books:
    """The books of the configured days, for the champion of the moment."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        days: Sequence[str],
        *,
        today: Callable[[], dt.date] = dt.date.today,
        background: bool = True,
        on_built: Callable[[Scorer, Book], None] | None = None,
    ) -> None:
        """``background=False``: books are built only by :meth:`build_now` (batch jobs, tests),
        never in a thread of their own. ``on_built``: told of each book kept (the grade changes
        are announced from it)."""
        self.sessions, self.days, self.today = sessions, list(days), today
        self.background = background
        self.on_built = on_built
        self.served = 0  # answers given from a book
        self._books: dict[dt.date, Book] = {}
        self._building: set[dt.date] = set()
        self._lock = threading.Lock()
        self.why_not: dict[dt.date, str] = {}

    def wanted(self) -> list[dt.date]:
        return book_days(self.days, self.today())

    def status(self) -> dict[str, str]:
        """Per wanted day: "ready (N enterprises, load L)", "building" or why there is none."""
        out = {}
        for day in self.wanted():
            book = self._books.get(day)
            if day in self._building:
                out[day.isoformat()] = "building"
            elif book is not None:
                out[day.isoformat()] = (
                    f"ready: {len(book.rows):,} enterprises, load {book.load_id}, "
                    f"built in {book.seconds:.1f} s"
                )
            else:
                out[day.isoformat()] = self.why_not.get(day, "not built yet")
        return out

    def start(self, scorer: Scorer) -> None:
        """Build, in the background, every wanted day's book that is missing."""
        for day in self.wanted():
            if day not in self._books:
                self._build_later(scorer, day)

    def batch(
        self, session: Session, scorer: Scorer, *, as_of: dt.date, usccs: Sequence[str]
    ) -> Batch | None:
        """The batch from the day's book when it is :meth:`current` and has every code; None
        otherwise."""
        book = self.current(session, scorer, as_of)
        return None if book is None else self.take(book, session, usccs)

    def current(self, session: Session, scorer: Scorer, as_of: dt.date) -> Book | None:
        """The day's book when it is current (same load, same versions), as read in the
        caller's transaction; None otherwise — a stale book is retired and rebuilt."""
        book = self._books.get(as_of)
        if book is None:
            if as_of in self.wanted():
                self._build_later(scorer, as_of)
            return None
        if book.versions != scorer.versions or book.load_id != last_load(session):
            with self._lock:
                if self._books.get(as_of) is book:
                    del self._books[as_of]
            self._build_later(scorer, as_of)
            return None
        return book

    def kept(self, scorer: Scorer, as_of: dt.date, load: int) -> Book | None:
        """The day's book when it was built by ``scorer``'s versions from load ``load``, with no
        database read (None otherwise: :meth:`current` tells, and retires a stale one)."""
        book = self._books.get(as_of)
        if book is None or book.versions != scorer.versions or book.load_id != load:
            return None
        return book

    def take(self, book: Book, session: Session, usccs: Sequence[str]) -> Batch | None:
        """:meth:`Book.batch`, counted as served when the book has every code."""
        found = book.batch(session, usccs)
        if found is not None:
            with self._lock:
                self.served += 1
        return found

    def build_now(self, scorer: Scorer, as_of: dt.date) -> Book:
        """Build the day's book in this thread and keep it."""
        book = self.build(scorer, as_of)
        with self._lock:
            self._books[as_of] = book
        if self.on_built is not None:
            self.on_built(scorer, book)
        return book

    def build(self, scorer: Scorer, as_of: dt.date) -> Book:
        """Score every enterprise known on ``as_of`` (the load read first: a load landing
        meanwhile makes the book look older than it is, and so retires it, never the reverse)."""
        start = time.perf_counter()
        with self.sessions() as session, session.begin(), unhurried(session):
            load_id = last_load(session)
            history = read_history(session)
            b = score_batch(session, scorer, as_of=as_of, history=history)
        return Book(
            as_of=as_of,
            load_id=load_id,
            versions=scorer.versions,
            rows={u: i for i, u in enumerate(b.usccs)},
            scored=b.scored,
            grave=frozenset(b.grave),
            records=Records.known(history, as_of),
            seconds=time.perf_counter() - start,
        )

    def _build_later(self, scorer: Scorer, as_of: dt.date) -> None:
        with self._lock:
            if not self.background or as_of in self._building:
                return
            self._building.add(as_of)
        threading.Thread(
            target=self._build, args=(scorer, as_of), name=f"book {as_of}", daemon=True
        ).start()

    def _build(self, scorer: Scorer, as_of: dt.date) -> None:
        try:
            book = self.build_now(scorer, as_of)
        except Exception as exc:  # the database is away, say: answers are computed meanwhile
            log.warning("score book of %s not built: %s", as_of, exc)
            self.why_not[as_of] = f"not built: {type(exc).__name__}: {exc}"
        else:
            self.why_not.pop(as_of, None)
            log.info("score book of %s: %s enterprises", as_of, len(book.rows))
        finally:
            with self._lock:
                self._building.discard(as_of)
