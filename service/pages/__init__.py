"""Server-rendered pages: the enterprise page ``/enterprises/{uscc}`` and its sign-in."""

from service.pages.enterprise import router

__all__ = ["router"]
