"""Webhook deliveries: fan-out, claim, POST, settle — at least once, in order per USCC.

- **Fan-out** turns each new event into one pending delivery per subscription whose key may hear
  of it (:mod:`service.engine.notify.audience`), in the transaction that marks the event fanned out.
- **Claim** leases a batch of due deliveries to one worker: a delivery is due when its time has
  come, no earlier delivery of the same subscription and code is still pending (order per USCC),
  and every earlier event has been fanned out (so none can appear behind it). The lease is one
  UPDATE of rows not leased (PostgreSQL: chosen ``FOR UPDATE SKIP LOCKED``, so two workers never
  take the same row; SQLite: writers are serialised and the UPDATE re-checks the lease). A worker
  that dies leaves its leases to lapse; only what it had not recorded as delivered is sent again.
- **Settle** records each attempt as soon as its answer is in: a 2xx delivers; anything else
  (another status, a redirect, a timeout, a refused connection, a URL no longer allowed) is
  retried after an exponential backoff with jitter, and after ``max_attempts`` the delivery is
  dead — listed with its attempts, and replayable.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid

from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from registry import clock
from service.engine.notify.audience import watchers_of
from service.engine.notify.feed import as_json
from service.engine.notify.sending import Claimed, Outcome
from service.store.notify_tables import Attempt, Delivery, Event, Subscription
from service.store.outbox import PUBLIC
from service.store.settings import NotifySettings
from service.store.tables import ApiKey

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"


def _subscribers(event: Event, now: dt.datetime) -> ColumnElement[bool]:
    """The subscriptions (joined with their keys) that hear of ``event``."""
    live = and_(
        Subscription.deleted_at.is_(None),
        Subscription.after_event < event.event_id,
        ApiKey.revoked_at.is_(None),
        or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
    )
    public = event.audience == PUBLIC
    others: ColumnElement[bool] | None
    if event.uscc is None:
        others = ApiKey.role.in_(("insurer", "approval_office", "enterprise")) if public else None
    else:
        watched = Subscription.key_id.in_(watchers_of(event.uscc))
        own = and_(ApiKey.role == "enterprise", ApiKey.uscc == event.uscc, watched)
        if public:
            others = or_(and_(ApiKey.role.in_(("insurer", "approval_office")), watched), own)
        else:
            others = own
    hears = (
        ApiKey.role == "regulator" if others is None else or_(ApiKey.role == "regulator", others)
    )
    return and_(live, hears)


def fan_out(session: Session, *, most: int = 500) -> int:
    """Make the deliveries of up to ``most`` events not yet fanned out; how many deliveries."""
    events = list(
        session.scalars(
            select(Event)
            .where(Event.fanned_out.is_(False))
            .order_by(Event.event_id)
            .limit(most)
            .with_for_update(skip_locked=True)
        )
    )
    made = 0
    now = clock.now()
    for event in events:
        chosen = (
            select(
                Subscription.subscription_id,
                literal(event.event_id),
                literal(event.uscc or ""),
                literal(PENDING),
                literal(0),
                literal(now, type_=Delivery.next_attempt_at.type),
                literal(now, type_=Delivery.created_at.type),
            )
            .join(ApiKey, ApiKey.key_id == Subscription.key_id)
            .where(_subscribers(event, now))
        )
        session.execute(
            insert(Delivery).from_select(
                [
                    "subscription_id",
                    "event_id",
                    "uscc",
                    "state",
                    "attempts",
                    "next_attempt_at",
                    "created_at",
                ],
                chosen,
            )
        )
        made += (
            session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.event_id == event.event_id)
            )
            or 0
        )
        event.fanned_out = True
    session.flush()
    return made


def claim(session: Session, *, worker: str, batch: int, lease_seconds: float) -> list[Claimed]:
    """Lease up to ``batch`` due deliveries to ``worker`` (commit before sending)."""
    now = clock.now()
    d, earlier = aliased(Delivery, name="due"), aliased(Delivery, name="earlier")
    blocked = exists(
        select(earlier.delivery_id).where(
            earlier.subscription_id == d.subscription_id,
            earlier.uscc == d.uscc,
            earlier.event_id < d.event_id,
            earlier.state == PENDING,
        )
    )
    unfanned = select(func.min(Event.event_id)).where(Event.fanned_out.is_(False)).scalar_subquery()
    live = (
        select(Subscription.subscription_id)
        .join(ApiKey, ApiKey.key_id == Subscription.key_id)
        .where(
            Subscription.deleted_at.is_(None),
            ApiKey.revoked_at.is_(None),
            or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
        )
    )
    due = (
        select(d.delivery_id)
        .where(
            d.state == PENDING,
            d.next_attempt_at <= now,
            or_(d.lease_until.is_(None), d.lease_until < now),
            ~blocked,
            or_(unfanned.is_(None), d.event_id < unfanned),
            d.subscription_id.in_(live),  # a key revoked or expired since hears no more
        )
        .order_by(d.event_id, d.delivery_id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    lease = f"{worker}:{uuid.uuid4().hex[:12]}"
    # one statement: the rows chosen (PostgreSQL: locked, others' locked rows skipped) and
    # leased; on SQLite the statement takes the write lock, so no two claims interleave
    session.execute(
        update(Delivery)
        .where(
            Delivery.delivery_id.in_(due),
            Delivery.state == PENDING,
            or_(Delivery.lease_until.is_(None), Delivery.lease_until < now),
        )
        .values(leased_by=lease, lease_until=now + dt.timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    made = (
        select(func.count())
        .select_from(Attempt)
        .where(Attempt.delivery_id == Delivery.delivery_id)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Delivery, Subscription.url, Subscription.secret, Event, made)
        .join(Subscription, Subscription.subscription_id == Delivery.subscription_id)
        .join(Event, Event.event_id == Delivery.event_id)
        .where(Delivery.leased_by == lease)
        .order_by(Delivery.event_id, Delivery.delivery_id)
    ).all()
    return [
        Claimed(
            d.delivery_id,
            d.event_id,
            d.subscription_id,
            url,
            secret,
            d.attempts,
            lease,
            json.dumps(as_json(e), ensure_ascii=False, separators=(",", ":")).encode(),
            n,
        )
        for d, url, secret, e, n in rows
    ]


def backoff(attempts: int, settings: NotifySettings, rng: random.Random) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: the base doubled each
    time, capped, then "equal jitter" (between half and all of it)."""
    full = min(settings.backoff_max_seconds, settings.backoff_seconds * 2 ** (attempts - 1))
    return full / 2 + rng.random() * full / 2


def settle(
    session: Session,
    c: Claimed,
    outcome: Outcome,
    *,
    worker: str,
    settings: NotifySettings,
    rng: random.Random,
) -> str:
    """Record the attempt and its consequence; the delivery's state after it. The delivery is
    written first (SQLite: the transaction takes the write lock at once, waiting its turn)."""
    now = clock.now()
    attempts = c.attempts + 1
    values: dict[str, object] = {"attempts": attempts, "leased_by": None, "lease_until": None}
    if outcome.error is None:
        state = DELIVERED
        values.update(state=state, delivered_at=now, last_error=None)
    elif attempts >= settings.max_attempts:
        state = DEAD
        values.update(state=state, last_error=outcome.error)
    else:
        state = PENDING
        wait = dt.timedelta(seconds=backoff(attempts, settings, rng))
        values.update(state=state, last_error=outcome.error, next_attempt_at=now + wait)
    session.execute(
        update(Delivery)
        .where(Delivery.delivery_id == c.delivery_id, Delivery.leased_by == c.lease)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        insert(Attempt).values(
            delivery_id=c.delivery_id,
            number=c.made + 1,
            worker=worker[:64],
            started_at=outcome.started_at,
            milliseconds=outcome.milliseconds,
            status_code=outcome.status_code,
            error=outcome.error,
        )
    )
    return state
