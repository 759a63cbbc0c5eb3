"""Who may hear of what. A regulator hears of every event. Anyone else hears of events about
codes on its own watchlists, and of events about no one enterprise (a new champion model or
tariff version); of an entry not yet published (a proposal, a notice, a decision, a revocation)
only the enterprise concerned hears — approval offices and insurers never do. An enterprise
watches only itself."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true

from service.engine.keys import Principal
from service.store.notify_tables import Event, WatchedCode, Watchlist
from service.store.outbox import PUBLIC

HEARS_ALL = ("regulator",)
HEARS_WATCHED = ("insurer", "approval_office", "enterprise")


def codes_watched_by(key_id: str) -> Select[str]:
    """The codes on the key's watchlists (a subquery computed once, not per row)."""
    return (
        select(WatchedCode.uscc)
        .join(Watchlist, Watchlist.watchlist_id == WatchedCode.watchlist_id)
        .where(Watchlist.key_id == key_id)
    )


def watchers_of(uscc: str) -> Select[str]:
    """The keys with the code on a watchlist (a subquery computed once, not per row)."""
    return (
        select(Watchlist.key_id)
        .join(WatchedCode, WatchedCode.watchlist_id == Watchlist.watchlist_id)
        .where(WatchedCode.uscc == uscc)
    )


def hears(principal: Principal) -> ColumnElement[bool]:
    """A condition on :class:`Event` rows: the events ``principal`` may hear of."""
    if principal.role in HEARS_ALL:
        return true()
    if principal.role not in HEARS_WATCHED:
        return false()
    watched = Event.uscc.in_(codes_watched_by(principal.key_id))
    if principal.role == "enterprise":
        return or_(
            and_(Event.uscc.is_(None), Event.audience == PUBLIC),
            and_(Event.uscc == principal.uscc, watched),
        )
    return and_(
        Event.audience == PUBLIC,
        or_(Event.uscc.is_(None), watched),
    )
