"""The change feed (``GET /v1/changes``) and webhooks (``/v1/webhooks``): what a key may hear of
(:mod:`service.engine.notify.audience`), read a page at a time or POSTed, signed, to its URL."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from service.engine.keys import Principal
from service.engine.notify import hooks
from service.engine.notify.feed import changes as read_changes
from service.engine.notify.watch import WATCHERS
from service.http.api.deps import SessionDep, today_of
from service.http.api.inputs import STRICT, Line
from service.http.api.responses import errors
from service.http.api.schemas import UtcDatetime
from service.http.api.watchlists import NotifyDep
from service.http.auth import allow
from service.store.notify_tables import Attempt, Delivery, Subscription

router = APIRouter(tags=["notifications"])
Watcher = Annotated[Principal, Depends(allow(*WATCHERS))]
ERRORS = errors(404, 409, e404="no such subscription or delivery of this key")
SubId = Annotated[Line, Path(max_length=64, description="the subscription's id")]


class EventOut(BaseModel):
    id: int = Field(
        description="the event's number: 1, 2, … in the order recorded; idempotency key"
    )
    type: str = Field(description='what happened, e.g. "registry.published", "score.grade_changed"')
    uscc: str | None = Field(description="the enterprise it is about; null: none in particular")
    effective_on: dt.date = Field(description="the day the change takes effect")
    recorded_at: str = Field(description="when the service recorded it (UTC, ISO 8601)")
    payload: dict[str, Any] = Field(description="the change: entry, action, grades, links")


class ChangesOut(BaseModel):
    events: list[EventOut] = Field(description="events after the cursor this key may hear of")
    next_cursor: str = Field(description="pass as `since` for the next page (opaque)")
    more: bool = Field(description="true when the next page has events already")


@router.get("/v1/changes", response_model=ChangesOut, responses=errors())
def changes(
    request: Request,
    session: SessionDep,
    principal: Watcher,
    settings: NotifyDep,
    since: Annotated[
        str | None, Query(max_length=64, description="a cursor from next_cursor; none: the start")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="events on this page")] = 100,
) -> ChangesOut:
    """Changes to the codes on the key's watchlists (a regulator: every change), in order.
    Approval offices and insurers hear only of published entries; an enterprise of itself."""
    with session.begin():
        page = read_changes(
            session,
            principal=principal,
            since=since,
            limit=min(limit, settings.page_max),
            today=today_of(request),
        )
    return ChangesOut(
        events=[EventOut(**e) for e in page.events], next_cursor=page.next_cursor, more=page.more
    )


class SubscriptionIn(BaseModel):
    model_config = STRICT
    url: Line = Field(max_length=2_000, description="where events are POSTed")
    secret: Line | None = Field(
        None, min_length=16, max_length=200, description="signs deliveries; none: one is made"
    )


class SubscriptionOut(BaseModel):
    subscription_id: str = Field(description="the subscription's id")
    url: str = Field(description="where events are POSTed")
    created_at: UtcDatetime = Field(description="when it was made: events recorded after it go")
    after_event: int = Field(description="the last event before it: later ones are delivered")


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="the HMAC-SHA256 key of X-Safecredit-Signature (shown once)")


class AttemptOut(BaseModel):
    number: int = Field(description="1, 2, … within the delivery")
    started_at: UtcDatetime = Field(description="when the POST began (UTC)")
    milliseconds: int = Field(description="how long it took")
    status_code: int | None = Field(description="the receiver's HTTP status; null: no answer")
    error: str | None = Field(description="why it failed; null: delivered")


class DeliveryOut(BaseModel):
    delivery_id: int = Field(description="the delivery's id")
    event_id: int = Field(description="the event delivered")
    uscc: str = Field(description='the event\'s code ("" for none): order is kept per code')
    state: str = Field(description='"pending", "delivered" or "dead" (replayable)')
    attempts: int = Field(description="attempts since it was made or last replayed")
    next_attempt_at: UtcDatetime = Field(description="when it is next tried, if pending")
    last_error: str | None = Field(description="the last failure, if any")
    delivered_at: UtcDatetime | None = Field(description="when the receiver accepted it")
    attempt_log: list[AttemptOut] = Field(
        default_factory=list, description="every attempt (one delivery's answer only)"
    )


def _sub(row: Subscription) -> dict[str, Any]:
    return {
        "subscription_id": row.subscription_id,
        "url": row.url,
        "created_at": row.created_at,
        "after_event": row.after_event,
    }


def _delivery(row: Delivery, attempts: list[Attempt] | None = None) -> DeliveryOut:
    return DeliveryOut(
        delivery_id=row.delivery_id,
        event_id=row.event_id,
        uscc=row.uscc,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
        attempt_log=[AttemptOut.model_validate(a, from_attributes=True) for a in (attempts or [])],
    )


@router.post("/v1/webhooks", response_model=SubscriptionCreated, status_code=201, responses=ERRORS)
def subscribe(
    body: SubscriptionIn, session: SessionDep, principal: Watcher, settings: NotifyDep
) -> SubscriptionCreated:
    """POST the events this key may hear of, from now on, to ``url`` (a loopback address
    unless the host is in the setting ``notify.allowed_hosts``)."""
    with session.begin():
        row = hooks.subscribe(
            session,
            principal=principal,
            url=body.url,
            secret=body.secret,
            allowed=settings.allowed_hosts,
        )
        return SubscriptionCreated(**_sub(row), secret=row.secret)


@router.get("/v1/webhooks", response_model=list[SubscriptionOut], responses=ERRORS)
def subscriptions(session: SessionDep, principal: Watcher) -> list[SubscriptionOut]:
    """The key's subscriptions (never their secrets)."""
    with session.begin():
        return [
            SubscriptionOut(**_sub(r)) for r in hooks.subscriptions(session, principal=principal)
        ]


@router.delete("/v1/webhooks/{subscription_id}", response_model=SubscriptionOut, responses=ERRORS)
def unsubscribe(subscription_id: SubId, session: SessionDep, principal: Watcher) -> SubscriptionOut:
    """Stop the subscription; its pending deliveries are dead (not sent)."""
    with session.begin():
        row = hooks.unsubscribe(session, principal=principal, subscription_id=subscription_id)
        return SubscriptionOut(**_sub(row))


@router.get(
    "/v1/webhooks/{subscription_id}/deliveries",
    response_model=list[DeliveryOut],
    responses=ERRORS,
)
def deliveries(
    subscription_id: SubId,
    session: SessionDep,
    principal: Watcher,
    state: Annotated[
        str | None, Query(max_length=16, description='"pending", "delivered" or "dead"')
    ] = None,
    after: Annotated[int, Query(ge=0, description="the last delivery id of the previous page")] = 0,
    limit: Annotated[int, Query(ge=1, le=1_000, description="deliveries on this page")] = 100,
) -> list[DeliveryOut]:
    """The subscription's deliveries, oldest first; ``state=dead`` for the failures."""
    with session.begin():
        rows = hooks.deliveries(
            session,
            principal=principal,
            subscription_id=subscription_id,
            state=state,
            after=after,
            limit=limit,
        )
        return [_delivery(r) for r in rows]


DeliveryId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the delivery's id")]


@router.get("/v1/webhooks/deliveries/{delivery_id}", response_model=DeliveryOut, responses=ERRORS)
def delivery(delivery_id: DeliveryId, session: SessionDep, principal: Watcher) -> DeliveryOut:
    """One delivery with every attempt made."""
    with session.begin():
        row, attempts = hooks.delivery(session, principal=principal, delivery_id=delivery_id)
        return _delivery(row, attempts)


@router.post(
    "/v1/webhooks/deliveries/{delivery_id}/replay", response_model=DeliveryOut, responses=ERRORS
)
def replay(delivery_id: DeliveryId, session: SessionDep, principal: Watcher) -> DeliveryOut:
    """Send a dead delivery again (pending, due now, a full allowance of attempts)."""
    with session.begin():
        return _delivery(hooks.replay(session, principal=principal, delivery_id=delivery_id))
