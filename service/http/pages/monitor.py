"""The monitor's latest report on the regulator's desk: an alert banner on ``/registry`` when a
threshold was exceeded, and ``/registry/monitor``, the report itself (regulators only). Reports
are the files ``safecredit monitor`` writes (``var/monitor/monitor-<as-of>.html`` and
``.json``); the newest as-of date is the latest."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.http.api.deps import SessionDep
from service.http.pages.render import lang_of, message, signed_in_or_login

router = APIRouter(include_in_schema=False)
LangQuery = Annotated[str | None, Query(pattern="^(zh|en)$")]


@dataclass(frozen=True)
class Latest:
    as_of: str
    breaches: list[str]
    html: Path

    @property
    def zh(self) -> str:
        if self.breaches:
            return f"监测报告（{self.as_of}）：{len(self.breaches)}项指标超出阈值"
        return f"监测报告（{self.as_of}）：各项指标均在阈值内"

    @property
    def en(self) -> str:
        if self.breaches:
            return f"Monitor report of {self.as_of}: {len(self.breaches)} threshold(s) exceeded"
        return f"Monitor report of {self.as_of}: no threshold exceeded"


def latest(folder: Path | None) -> Latest | None:
    """The newest report in ``folder`` with both its files; None when there is none."""
    if folder is None or not folder.is_dir():
        return None
    for path in sorted(folder.glob("monitor-*.json"), reverse=True):
        html = path.with_suffix(".html")
        if not html.exists():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        return Latest(str(data.get("as_of", path.stem[8:])), list(data.get("breaches", [])), html)
    return None


def monitor_dir(request: Request) -> Path | None:
    folder: Path | None = getattr(request.app.state, "monitor_dir", None)
    return folder


@router.get("/registry/monitor", response_class=HTMLResponse)
def monitor_report(request: Request, session: SessionDep, lang: LangQuery = None) -> Response:
    language = lang_of(lang)
    principal = signed_in_or_login(request, session, language)
    if isinstance(principal, RedirectResponse):
        return principal
    if principal.role != "regulator":
        return message(request, language, "regulators_only", 403)
    found = latest(monitor_dir(request))
    if found is None:
        none = "尚无监测报告。" if language == "zh" else "No monitor report yet."
        return HTMLResponse(f"<!doctype html><meta charset='utf-8'><p>{none}</p>", 404)
    nonce = request.state.csp_nonce  # the page's one <style> block is admitted by it
    page = found.html.read_text(encoding="utf-8").replace("<style>", f'<style nonce="{nonce}">', 1)
    return HTMLResponse(page)
