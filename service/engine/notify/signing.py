"""Webhook signatures: ``X-Safecredit-Signature: t=<unix seconds>,v1=<hex>`` where the hex is
HMAC-SHA256 under the subscription's secret of ``"<t>." + body``. A receiver recomputes it,
compares in constant time, and refuses a timestamp too far from its own clock (a replay)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

HEADER = "X-Safecredit-Signature"
EVENT_HEADER = "X-Safecredit-Event-Id"  # the event's number: the receiver's idempotency key
DELIVERY_HEADER = "X-Safecredit-Delivery"
ATTEMPT_HEADER = "X-Safecredit-Attempt"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """The header signs ``body`` under ``secret`` within ``tolerance`` seconds of ``now``."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))
