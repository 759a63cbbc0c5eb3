"""``/registry``: the regulator's desk — the queue of what waits for the signed-in regulator's
department, each task with its deadline; and ``/registry/entries/{entry_id}``: an entry's
history with both times (the day each step took effect and when it was recorded), and the
actions allowed now as forms, recorded through :func:`service.engine.filings.act_as` (the
procedure's own rules, dated by the server's today) exactly as the API records them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from registry.errors import RegistryError
from registry.procedure import actions_of
from registry.queue import queue
from registry.status import allowed_actions, status
from registry.tables import Entry
from service.engine.errors import ServiceError
from service.engine.filings import ENTERPRISE_FILINGS, act_as
from service.http.api.checking import registry_changed
from service.http.api.deps import SessionDep, today_of
from service.http.pages import forms
from service.http.pages.entries import policy_of, record
from service.http.pages.monitor import latest, monitor_dir
from service.http.pages.refusals import refusal_status, refusal_text
from service.http.pages.render import lang_of, message, render, signed_in_or_login
from service.http.pages.texts import Lang, texts
from service.http.pages.titles import list_name, rule_title
from service.http.pages.uploads import FormError, posted

router = APIRouter(include_in_schema=False)
LangQuery = Annotated[str | None, Query(pattern="^(zh|en)$")]
EntryId = Annotated[str, Path(max_length=64)]
LAST = frozenset({"correct", "revoke"})  # offered after the procedure's next step


@router.get("/registry", response_class=HTMLResponse)
def regulator_queue(request: Request, session: SessionDep, lang: LangQuery = None) -> Response:
    language = lang_of(lang)
    principal = signed_in_or_login(request, session, language)
    if isinstance(principal, RedirectResponse):
        return principal
    if principal.role != "regulator":
        return message(request, language, "regulators_only", 403)
    today = today_of(request)
    tasks: list[Any] = []
    if principal.department:
        with session.begin():
            tasks = queue(
                session,
                department=principal.department,
                today=today,
                expiry_days=request.app.state.limits.queue_expiry_days,
            )
    context = {
        "t": texts(language),
        "lang": language,
        "department": principal.department,
        "today": today,
        "monitor": latest(monitor_dir(request)),
        "tasks": [
            {
                "task": t,
                "overdue": t.overdue(today),
                "rule_title": rule_title(t.rule, t.title, language),
            }
            for t in tasks
        ],
    }
    return render(request, "registry.html", context)


@router.get("/registry/entries/{entry_id}", response_class=HTMLResponse)
def entry_page(
    request: Request,
    session: SessionDep,
    entry_id: EntryId,
    lang: LangQuery = None,
    done: str | None = None,
) -> Response:
    return _entry(request, session, entry_id, lang_of(lang), done=done)


def _entry(
    request: Request,
    session: Session,
    entry_id: str,
    language: Lang,
    *,
    done: str | None = None,
    refused: str | None = None,
    status_code: int = 200,
) -> Response:
    principal = signed_in_or_login(request, session, language)
    if isinstance(principal, RedirectResponse):
        return principal
    if principal.role != "regulator":
        return message(request, language, "regulators_only", 403)
    today = today_of(request)
    zone = request.app.state.time_zone
    with session.begin():
        entry = session.get(Entry, entry_id)
        if entry is None:
            return message(request, language, "entry_missing", 404)
        acts = actions_of(session, entry_id=entry_id)
        now = status(acts, on=today)
        history = [record(a, zone) for a in acts]
        facts = {
            "entry_id": entry.entry_id,
            "uscc": entry.uscc,
            "name": entry.name,
            "rule": entry.rule,
            "department": entry.department,
            "penalty_decision_id": entry.penalty_decision_id,
            "version": entry.version,
            "event_on": entry.event_on,
        }
        policy = policy_of(entry)
    deciding = principal.department == entry.department
    allowed = (
        sorted(
            (a for a in allowed_actions(acts, on=today) if a not in ENTERPRISE_FILINGS),
            key=lambda a: (a in LAST, a),
        )
        if deciding
        else []
    )
    context = {
        "t": texts(language),
        "lang": language,
        "e": facts,
        "list_name": list_name(
            entry.policy_id, policy.name if policy else entry.list_type, language
        ),
        "rule_title": rule_title(
            entry.rule,
            next((r.title for r in policy.rules if r.code == entry.rule), "") if policy else "",
            language,
        ),
        "now": now,
        "history": history,
        "deciding": deciding,
        "allowed": allowed,
        "today": today,
        "done": bool(done),
        "refused": refused,
    }
    return render(request, "entry.html", context, status_code)


@router.post("/registry/entries/{entry_id}/actions", response_class=HTMLResponse)
async def act_from_page(request: Request, session: SessionDep, entry_id: EntryId) -> Response:
    """One action from the entry page's form: checked against cross-site posting, recorded as
    the API records it (dated today); refused with the reason on the page, nothing changed."""
    try:
        form = await posted(request)
    except FormError:
        return message(request, "zh", "refused_form", 422)
    language = lang_of(form.fields.get("lang"))
    if forms.refusal(request, form.fields) is not None:
        return message(request, language, "refused_form", 403)
    return await run_in_threadpool(_act, request, session, entry_id, language, form.fields)


def _act(
    request: Request, session: Session, entry_id: str, lang: Lang, f: dict[str, str]
) -> Response:
    principal = signed_in_or_login(request, session, lang)
    if isinstance(principal, RedirectResponse):
        return principal
    if principal.role != "regulator":
        return message(request, lang, "regulators_only", 403)
    action = f.get("action", "")
    details: dict[str, Any] = {}
    if action == "correct" and f.get("name", "").strip():
        details["corrections"] = {"name": f["name"].strip()}
    try:
        version = int(f["version"]) if f.get("version") else None
    except ValueError:
        version = -1  # not a version the entry ever had: refused as a stale form
    try:
        with session.begin():
            act_as(
                session,
                principal,
                entry_id=entry_id,
                action=action,
                reason=f.get("reason", ""),
                today=today_of(request),
                details=details,
                expected_version=version,
            )
    except (RegistryError, ServiceError) as why:
        return _entry(
            request, session, entry_id, lang,
            refused=refusal_text(why, lang), status_code=refusal_status(why),
        )  # fmt: skip
    registry_changed(request, session)
    return RedirectResponse(
        f"/registry/entries/{entry_id}?lang={lang}&done={action}", status_code=303
    )
