"""Who may hear of what. A regulator hears of every event. Anyone else hears of events about
codes on its own watchlists, and of events about no one enterprise (a new champion model or
tariff version); of an entry not yet published (a proposal, a notice, a decision, a revocation)
only the enterprise concerned hears — approval offices and insurers never do. An enterprise
watches only itself."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from service.keys import Principal
from service.notify.outbox import PUBLIC
from service.notify.tables import Event, WatchedCode, Watchlist

Column = ColumnElement[Any] | InstrumentedAttribute[Any]
HEARS_ALL = ("regulator",)
HEARS_WATCHED = ("insurer", "approval_office", "enterprise")


def watched_by(key_id: Column | str, uscc: Column) -> ColumnElement[bool]:
    """The code is on one of the key's watchlists."""
    return exists(
        select(WatchedCode.uscc)
        .join(Watchlist, Watchlist.watchlist_id == WatchedCode.watchlist_id)
        .where(Watchlist.key_id == key_id, WatchedCode.uscc == uscc)
    )


def hears(principal: Principal) -> ColumnElement[bool]:
    """A condition on :class:`Event` rows: the events ``principal`` may hear of."""
    if principal.role in HEARS_ALL:
        return true()
    if principal.role not in HEARS_WATCHED:
        return false()
    watched = watched_by(principal.key_id, Event.uscc)
    if principal.role == "enterprise":
        return or_(
            and_(Event.uscc.is_(None), Event.audience == PUBLIC),
            and_(Event.uscc == principal.uscc, watched),
        )
    return and_(
        Event.audience == PUBLIC,
        or_(Event.uscc.is_(None), watched),
    )
