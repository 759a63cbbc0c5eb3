"""Webhook subscriptions and their deliveries, as their owner manages them: subscribe a URL
(checked by :mod:`service.engine.notify.targets`; the secret made here unless given), list, delete;
list deliveries with their attempts; replay a dead one. A key sees only its own subscriptions.
Query functions take the session and never commit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from registry import clock
from service.engine.keys import Principal
from service.engine.notify.dispatch import DEAD, PENDING
from service.engine.notify.errors import (
    NotifyConflict,
    NotifyForbidden,
    NotifyInputError,
    NotifyNotFound,
)
from service.engine.notify.signing import new_secret
from service.engine.notify.targets import resolve
from service.engine.notify.watch import WATCHERS
from service.store.notify_tables import Attempt, Delivery, NotifyHead, Subscription
from service.store.outbox import HEAD_ID

STATES = ("pending", "delivered", "dead")


def subscribe(
    session: Session,
    *,
    principal: Principal,
    url: str,
    secret: str | None,
    allowed: Sequence[str],
) -> Subscription:
    """A subscription to the events the key may hear of from now on."""
    if principal.role not in WATCHERS:
        raise NotifyForbidden(f"a {principal.role} key has no webhooks")
    resolve(url, allowed=allowed)
    if secret is not None and not 16 <= len(secret) <= 200:
        raise NotifyInputError("secret: between 16 and 200 characters (or none: one is made)")
    head = session.execute(
        select(NotifyHead.length).where(NotifyHead.head_id == HEAD_ID)
    ).scalar_one()
    row = Subscription(
        subscription_id=uuid.uuid4().hex,
        key_id=principal.key_id,
        url=url,
        secret=secret or new_secret(),
        created_at=clock.now(),
        after_event=head,
    )
    session.add(row)
    session.flush()
    return row


def subscriptions(session: Session, *, principal: Principal) -> list[Subscription]:
    return list(
        session.scalars(
            select(Subscription)
            .where(Subscription.key_id == principal.key_id, Subscription.deleted_at.is_(None))
            .order_by(Subscription.created_at, Subscription.subscription_id)
        )
    )


def own(session: Session, *, principal: Principal, subscription_id: str) -> Subscription:
    row = session.get(Subscription, subscription_id)
    if row is None or row.key_id != principal.key_id or row.deleted_at is not None:
        raise NotifyNotFound(f"subscription_id: no subscription {subscription_id!r} of this key")
    return row


def unsubscribe(session: Session, *, principal: Principal, subscription_id: str) -> Subscription:
    """Stop the subscription; its pending deliveries die with it (listed, not sent)."""
    row = own(session, principal=principal, subscription_id=subscription_id)
    row.deleted_at = clock.now()
    session.execute(
        update(Delivery)
        .where(Delivery.subscription_id == subscription_id, Delivery.state == PENDING)
        .values(state=DEAD, last_error="the subscription was deleted", lease_until=None)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return row


def deliveries(
    session: Session,
    *,
    principal: Principal,
    subscription_id: str,
    state: str | None,
    after: int,
    limit: int,
) -> list[Delivery]:
    own(session, principal=principal, subscription_id=subscription_id)
    if state is not None and state not in STATES:
        raise NotifyInputError(f"state: {state!r}; one of {', '.join(STATES)}")
    query = select(Delivery).where(
        Delivery.subscription_id == subscription_id, Delivery.delivery_id > after
    )
    if state is not None:
        query = query.where(Delivery.state == state)
    return list(session.scalars(query.order_by(Delivery.delivery_id).limit(limit)))


def delivery(
    session: Session, *, principal: Principal, delivery_id: int
) -> tuple[Delivery, list[Attempt]]:
    row = session.get(Delivery, delivery_id)
    if row is not None:
        sub = session.get(Subscription, row.subscription_id)
        if sub is None or sub.key_id != principal.key_id:
            row = None
    if row is None:
        raise NotifyNotFound(f"delivery_id: no delivery {delivery_id} of this key's webhooks")
    attempts = list(
        session.scalars(
            select(Attempt).where(Attempt.delivery_id == delivery_id).order_by(Attempt.number)
        )
    )
    return row, attempts


def replay(session: Session, *, principal: Principal, delivery_id: int) -> Delivery:
    """A dead delivery pending again, due now, with its attempts allowance renewed."""
    row, _ = delivery(session, principal=principal, delivery_id=delivery_id)
    sub = own(session, principal=principal, subscription_id=row.subscription_id)
    if row.state != DEAD:
        raise NotifyConflict(f"delivery {delivery_id} is {row.state}, not dead: nothing to replay")
    row.state, row.attempts, row.next_attempt_at = PENDING, 0, clock.now()
    row.leased_by = row.lease_until = None
    assert sub.deleted_at is None
    session.flush()
    return row
