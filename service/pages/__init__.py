"""Server-rendered pages: sign-in, the enterprise desk ``/enterprises/{uscc}`` and the
regulator desk ``/registry``."""

from fastapi import APIRouter

from service.pages import enterprise, files, regulator, signin

router = APIRouter(include_in_schema=False)
for module in (signin, enterprise, regulator, files):
    router.include_router(module.router)

__all__ = ["router"]
