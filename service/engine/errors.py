"""One error base class with a status per subclass (the HTTP answer's status and kind; the handler
that answers JSON is :mod:`service.http.errors`)."""

from __future__ import annotations


class ServiceError(Exception):
    status = 400
    kind = "bad_request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(ServiceError):
    status = 404
    kind = "not_found"


class BadInput(ServiceError):
    status = 422
    kind = "bad_input"


class TooLarge(ServiceError):
    status = 413
    kind = "too_large"


class NotReady(ServiceError):
    status = 503
    kind = "not_ready"


class Forbidden(ServiceError):
    status = 403
    kind = "forbidden"
