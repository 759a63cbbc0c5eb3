"""The JSON body of every error, and the one handler that answers a :class:`ServiceError`."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from service.engine.errors import ServiceError


class ErrorOut(BaseModel):
    error: str = Field(description='a short kind, e.g. "not_ready"')
    detail: str = Field(description="what was wrong and where")


def install(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _handle(_request: Request, exc: ServiceError) -> JSONResponse:
        body = ErrorOut(error=exc.kind, detail=exc.detail)
        return JSONResponse(status_code=exc.status, content=body.model_dump())
