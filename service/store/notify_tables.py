"""The tables of watchlists and notifications, on the shared :data:`features.tables.metadata`.

Events are numbered 1, 2, … without gaps in the order their transactions commit: the number is
taken from the one row of ``notify_head``, locked till commit (after the registry chain's head,
never before it), so a reader that has seen event N has seen every event before N, and a cursor
is that number.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from features.tables import Base


class NotifyHead(Base):
    """One row: how many events there are (the next one is ``length + 1``)."""

    __tablename__ = "notify_head"

    head_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    length: Mapped[int] = mapped_column(Integer)


class Event(Base):
    """A change that matters to a watcher, recorded with the change itself."""

    __tablename__ = "notify_events"
    __table_args__ = (
        Index("ix_notify_events_uscc", "uscc", "event_id"),
        Index("ix_notify_events_due", "due_settled", "due_on"),
        Index("ix_notify_events_fanned", "fanned_out", "event_id"),
    )

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(40))  # e.g. "registry.published"
    uscc: Mapped[str | None] = mapped_column(String(18))  # None: about no one enterprise
    effective_on: Mapped[dt.date] = mapped_column(Date)  # the day the change takes effect
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))  # server's time
    # "public": anyone watching the code may hear of it; "restricted": regulators and the
    # enterprise concerned only (an entry not yet published)
    audience: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    dedupe: Mapped[str | None] = mapped_column(String(160), unique=True)  # derived events' key
    # a publication's automatic removal: the day the entry leaves the list at expiry, settled
    # once the dispatcher has derived (or ruled out) the expiry event
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    due_settled: Mapped[bool] = mapped_column(Boolean, default=False)
    fanned_out: Mapped[bool] = mapped_column(Boolean, default=False)  # deliveries made


class Watchlist(Base):
    __tablename__ = "watchlists"
    __table_args__ = (UniqueConstraint("key_id", "name", name="uq_watchlists_key_id_name"),)

    watchlist_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), ForeignKey("api_keys.key_id"))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class WatchedCode(Base):
    __tablename__ = "watchlist_codes"
    __table_args__ = (Index("ix_watchlist_codes_uscc", "uscc"),)

    watchlist_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("watchlists.watchlist_id", ondelete="CASCADE"), primary_key=True
    )
    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)


class Subscription(Base):
    """A webhook: events the key may hear of, after ``after_event``, POSTed to ``url``."""

    __tablename__ = "notify_subscriptions"
    __table_args__ = (Index("ix_notify_subscriptions_key_id", "key_id"),)

    subscription_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), ForeignKey("api_keys.key_id"))
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(Text)  # the HMAC key deliveries are signed with
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    after_event: Mapped[int] = mapped_column(Integer)  # events up to it were before its time
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Delivery(Base):
    """One event for one subscription: pending (maybe leased by a worker), delivered or dead."""

    __tablename__ = "notify_deliveries"
    __table_args__ = (
        UniqueConstraint(
            "subscription_id", "event_id", name="uq_notify_deliveries_subscription_id_event_id"
        ),
        Index("ix_notify_deliveries_due", "state", "next_attempt_at"),
        Index("ix_notify_deliveries_order", "subscription_id", "uscc", "event_id"),
    )

    delivery_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("notify_subscriptions.subscription_id")
    )
    event_id: Mapped[int] = mapped_column(Integer, ForeignKey("notify_events.event_id"))
    uscc: Mapped[str] = mapped_column(String(18))  # the event's ("" for none): order per code
    state: Mapped[str] = mapped_column(String(12))  # "pending", "delivered" or "dead"
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    leased_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Attempt(Base):
    """One POST of a delivery and what came of it."""

    __tablename__ = "notify_attempts"
    __table_args__ = (Index("ix_notify_attempts_delivery_id", "delivery_id"),)

    attempt_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("notify_deliveries.delivery_id"))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, … within the delivery
    worker: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    milliseconds: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)  # None: no HTTP answer
    error: Mapped[str | None] = mapped_column(Text)  # None: delivered


class Mark(Base):
    """What was last announced of a thing that changes outside the database (the champion model,
    the tariff version), so that a change is announced once."""

    __tablename__ = "notify_marks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class GradeMark(Base):
    """The grade last announced per enterprise, and the book day it came from."""

    __tablename__ = "notify_grades"

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    grade: Mapped[str] = mapped_column(String(4))
    as_of: Mapped[dt.date] = mapped_column(Date)
