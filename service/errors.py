"""One error base class with a status per subclass, and one handler that answers JSON."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field


class ErrorOut(BaseModel):
    error: str = Field(description='a short kind, e.g. "not_ready"')
    detail: str = Field(description="what was wrong and where")


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


def install(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _handle(_request: Request, exc: ServiceError) -> JSONResponse:
        body = ErrorOut(error=exc.kind, detail=exc.detail)
        return JSONResponse(status_code=exc.status, content=body.model_dump())
