"""Security headers on every answer: the pages' Content-Security-Policy (nothing loaded from
elsewhere, no script at all, no inline style but the pages' own ``<style>`` block, which carries
the request's nonce; forms posted here only), no framing (``frame-ancestors 'none'`` and
``X-Frame-Options: DENY``), ``nosniff`` and a Referrer-Policy. The API reference (``/docs``)
runs Swagger UI from the service's own files (:mod:`service.http.pages.apidocs`): scripts, styles,
images and the OpenAPI document from ``'self'`` only, no inline script; Swagger UI sets inline
styles on its elements, so its page admits inline style (and nothing else does)."""

from __future__ import annotations

import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# the pages use no script, and no style but their one <style> block, admitted by its nonce
CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'none'",
        "style-src 'nonce-{nonce}'",
        "img-src 'self' data:",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
DOCS_CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
DOCS = ("/docs", "/static/swagger-ui/")


class SecurityHeaders:
    """Pure ASGI middleware (no body buffering), adding the headers unless a route set them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        nonce = secrets.token_urlsafe(16)  # the templates read it as request.state.csp_nonce
        scope.setdefault("state", {})["csp_nonce"] = nonce
        csp = DOCS_CSP if path.startswith(DOCS) else CSP.format(nonce=nonce)
        extra = [
            (b"content-security-policy", csp.encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        ]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in extra if n not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
