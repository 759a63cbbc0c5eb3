"""Server-rendered pages: the enterprise page ``/enterprises/{uscc}`` and its sign-in, the
approval-office desk ``/checks``, the insurer desk ``/quotes`` and the API reference ``/docs``."""

from fastapi import APIRouter

from service.pages import apidocs, checks, enterprise, insurer
from service.pages.apidocs import mount_assets

router = APIRouter(include_in_schema=False)
for _module in (enterprise, checks, insurer, apidocs):
    router.include_router(_module.router)

__all__ = ["mount_assets", "router"]
