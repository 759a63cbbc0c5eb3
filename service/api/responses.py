"""The error responses routes declare (every error body is :class:`~service.errors.ErrorOut`)."""

from __future__ import annotations

from typing import Any

from service.errors import ErrorOut

WHY = {
    400: "the body could not be read (not JSON)",
    401: "no API key, or an unknown or revoked one",
    403: "the key's role, enterprise or department does not allow it",
    404: "not found",
    409: "not allowed in the current state, or someone else acted first",
    422: "bad input: which field and why",
    503: "not ready (no champion model) or the database is unavailable",
}


def errors(*codes: int, **why: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each code with the error body and what it means here."""
    return {
        c: {"model": ErrorOut, "description": why.get(f"e{c}", WHY[c])}
        for c in (400, 401, 403, 422, 503, *codes)
    }
