"""Score events: a grade that changed between two score books, a new champion model, a new
tariff version.

Books live in memory; what was last announced lives here, in ``notify_grades`` (per enterprise)
and ``notify_marks`` (champion, tariff), so that a change is announced once however many
processes build books or restart. The first book only sets the marks: there is nothing to compare
it with. A book older than the marks announces nothing (a past day's book is no change).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence

import pandas as pd
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from registry import clock
from service.engine.books import Book
from service.engine.decisions import Scorer, final_grades
from service.store.notify_tables import GradeMark, Mark, NotifyHead
from service.store.outbox import CHAMPION, GRADE_CHANGED, HEAD_ID, PUBLIC, TARIFF, record


def _lock(session: Session) -> None:
    """Serialise announcers on the events' head (taken last by every writer of events)."""
    session.execute(
        select(NotifyHead.length).where(NotifyHead.head_id == HEAD_ID).with_for_update()
    ).scalar_one()


def grade_changes(
    session: Session,
    *,
    as_of: dt.date,
    usccs: Sequence[str],
    grades: Sequence[str],
    versions: Mapping[str, str],
) -> int:
    """Announce every grade that differs from the one last announced (from a book of an earlier
    or the same day), and remember the book's grades; the number of events. In the caller's
    transaction."""
    _lock(session)
    now = pd.DataFrame({"uscc": list(usccs), "grade": list(grades)}).drop_duplicates("uscc")
    marks = pd.DataFrame(
        session.execute(select(GradeMark.uscc, GradeMark.grade, GradeMark.as_of)).all(),
        columns=["uscc", "before", "before_as_of"],
    )
    both = now.merge(marks, on="uscc", how="left")
    both["before_as_of"] = pd.to_datetime(both["before_as_of"])
    later = both["before_as_of"].isna() | (both["before_as_of"] <= pd.Timestamp(as_of))
    both = both[later]
    changed = both[both["before"].notna() & (both["before"] != both["grade"])]
    for row in changed.itertuples(index=False):
        record(
            session.connection(),
            type=GRADE_CHANGED,
            uscc=row.uscc,
            effective_on=as_of,
            payload={
                "grade": row.grade,
                "previous_grade": row.before,
                "as_of": as_of.isoformat(),
                "previous_as_of": row.before_as_of.date().isoformat(),
                "versions": dict(versions),
                "links": {"score": f"/v1/scores/{row.uscc}?as_of={as_of.isoformat()}"},
            },
            audience=PUBLIC,
        )
    moved = both[both["before"].isna() | (both["before"] != both["grade"])]
    codes = moved["uscc"].tolist()
    for start in range(0, len(codes), 5_000):
        session.execute(delete(GradeMark).where(GradeMark.uscc.in_(codes[start : start + 5_000])))
    rows = [
        {"uscc": u, "grade": g, "as_of": as_of} for u, g in zip(codes, moved["grade"], strict=True)
    ]
    if rows:
        session.execute(insert(GradeMark), rows)
    same = both.loc[both["before"] == both["grade"], "uscc"].tolist()
    for start in range(0, len(same), 5_000):
        session.execute(
            update(GradeMark)
            .where(GradeMark.uscc.in_(same[start : start + 5_000]))
            .values(as_of=as_of)
        )
    return len(changed)


def version_change(session: Session, *, name: str, value: str, on: dt.date) -> int | None:
    """Announce ``value`` as the new champion model (``name`` "champion") or tariff version
    ("tariff") when it differs from the one last announced; the event's number, or None. The
    first value seen is announced too: a watcher learns what serves from then on."""
    types = {"champion": CHAMPION, "tariff": TARIFF}
    if name not in types:
        raise ValueError(f"unknown mark {name!r}; marks: {sorted(types)}")
    _lock(session)
    mark = session.get(Mark, name)
    if mark is not None and mark.value == value:
        return None
    before = None if mark is None else mark.value
    now = clock.now()
    if mark is None:
        session.add(Mark(name=name, value=value, recorded_at=now))
    else:
        mark.value, mark.recorded_at = value, now
    session.flush()
    return record(
        session.connection(),
        type=types[name],
        uscc=None,
        effective_on=on,
        payload={"version": value, "previous_version": before},
        audience=PUBLIC,
    )


log = logging.getLogger(__name__)


def announce_book(
    sessions: sessionmaker[Session], scorer: Scorer, book: Book, *, today: dt.date
) -> int:
    """Announce the grade changes of today's book (the grades as answered: listing and grave
    accident overrides applied), and its champion model if new; the number of grade events.
    A book of another day announces nothing. Logged, never raised: a book is kept regardless."""
    if book.as_of != today:
        return 0
    try:
        with sessions() as session, session.begin():
            batch = book.batch(session, list(book.rows))
            if batch is None:
                return 0
            grades, _ = final_grades(scorer, batch)
            n = grade_changes(
                session,
                as_of=book.as_of,
                usccs=batch.usccs,
                grades=[str(g) for g in grades],
                versions=book.versions,
            )
            version_change(session, name="champion", value=book.versions["model"], on=today)
    except Exception:
        log.exception("grade changes of the book of %s not announced", book.as_of)
        return 0
    log.info("book of %s: %s grade changes announced", book.as_of, n)
    return n
