"""What watchlists and subscriptions refuse, each with its HTTP status (the command line prints
the detail and exits 1)."""

from __future__ import annotations

from service.engine.errors import ServiceError


class NotifyInputError(ServiceError):
    status = 422
    kind = "bad_input"


class NotifyForbidden(ServiceError):
    status = 403
    kind = "forbidden"


class NotifyNotFound(ServiceError):
    status = 404
    kind = "not_found"


class NotifyConflict(ServiceError):
    status = 409
    kind = "conflict"
