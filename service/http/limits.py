"""An ASGI middleware for what no route should see: a body past the size limit (413, by its
``Content-Length`` or by the bytes streamed), and a path or query carrying a control character
(422, naming the parameter) — before either reaches a route, a page or the database."""

from __future__ import annotations

import html
import json
from urllib.parse import parse_qsl, unquote

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.http.api.inputs import control_problem


class BodyTooLarge(HTTPException):
    """Raised while a route reads a body streamed past the limit; answered 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"body: more than {limit:,} bytes; at most {limit:,}")


class Limits:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if problem := _control_in_url(scope):
            await _answer(send, 422, "bad_input", problem)
            return
        limit = self.max_body_bytes
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await _answer(send, 400, "bad_request", "Content-Length: not a number")
                return
            if declared > limit:
                detail = f"body: {declared:,} bytes; at most {limit:,}"
                await _answer(send, 413, "too_large", detail, page=_is_page(scope))
                return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, sending)
        except BodyTooLarge as exc:  # read outside a route's handlers (none answered it)
            if started:
                raise
            await _answer(send, 413, "too_large", str(exc.detail), page=_is_page(scope))


def _control_in_url(scope: Scope) -> str | None:
    """Where the path or the query has a control character, and which; None when neither."""
    raw = scope.get("raw_path")
    path = unquote(raw.decode("latin-1"), errors="replace") if raw else scope.get("path", "")
    if problem := control_problem(path, lines=False):
        return f"path: a {problem}"
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True, errors="replace"):
        if problem := control_problem(name, lines=False):
            return f"query: a parameter name with a {problem}"
        if problem := control_problem(value, lines=False):
            return f"query.{name}: a {problem}"
    return None


def _is_page(scope: Scope) -> bool:
    """A form posted by one of the pages (not the API): it is answered in HTML."""
    return not str(scope.get("path", "")).startswith(("/v1/", "/docs", "/redoc", "/openapi"))


PAGE = (
    '<!doctype html><html lang="zh-CN"><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>413</title>'
    "<h1>表单过大，未作任何更改 · The form is too large: nothing was changed</h1>"
    "<p>{detail}</p><p>请返回上一页，减少或缩小附件后重新提交。 "
    "Go back and file fewer or smaller attachments.</p></html>"
)


async def _answer(send: Send, status: int, kind: str, detail: str, *, page: bool = False) -> None:
    if page:
        body = PAGE.format(detail=html.escape(detail)).encode()
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
            (b"x-content-type-options", b"nosniff"),
        ]
    else:
        body = json.dumps({"error": kind, "detail": detail}, ensure_ascii=False).encode()
        headers = [(b"content-type", b"application/json")]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
