"""``/registry/entries/{entry_id}/attachments/{sha256}``: a file filed with an objection or a
repair application, for the enterprise concerned and the deciding department's regulators
only; sent as a download (never shown inline), its type as its content said when filed."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from registry.attachments import attachment_of
from registry.tables import Entry
from service.http.api.deps import SessionDep
from service.http.pages.render import lang_of, message, signed_in_or_login

router = APIRouter(include_in_schema=False)


@router.get("/registry/entries/{entry_id}/attachments/{sha256}")
def attachment(
    request: Request,
    session: SessionDep,
    entry_id: Annotated[str, Path(max_length=64)],
    sha256: Annotated[str, Path(pattern="^[0-9a-f]{64}$")],
    lang: str | None = None,
) -> Response:
    language = lang_of(lang)
    principal = signed_in_or_login(request, session, language)
    if isinstance(principal, RedirectResponse):
        return principal
    with session.begin():
        entry = session.get(Entry, entry_id)
        if entry is None:
            return message(request, language, "entry_missing", 404)
        mine = principal.role == "enterprise" and principal.uscc == entry.uscc
        deciding = principal.role == "regulator" and principal.department == entry.department
        if not (mine or deciding):
            return message(request, language, "forbidden", 403)
        row = attachment_of(session, entry_id=entry_id, sha256=sha256)
        if row is None:
            return message(request, language, "entry_missing", 404)
        content, media_type, name = row.content, row.media_type, row.filename
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "private, no-store",
        },
    )
