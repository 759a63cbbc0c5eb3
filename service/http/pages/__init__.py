"""Server-rendered pages: sign-in, the enterprise desk ``/enterprises/{uscc}``, the regulator
desk ``/registry``, the approval-office desk ``/checks``, the insurer desk ``/quotes`` and the
API reference ``/docs``."""

from fastapi import APIRouter

from service.http.pages import (
    apidocs,
    checks,
    enterprise,
    files,
    insurer,
    monitor,
    regulator,
    signin,
)
from service.http.pages.apidocs import mount_assets

router = APIRouter(include_in_schema=False)
for _module in (signin, enterprise, regulator, monitor, files, checks, insurer, apidocs):
    router.include_router(_module.router)

__all__ = ["mount_assets", "router"]
