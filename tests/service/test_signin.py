"""Sign-in done as the web does it, on SQLite and PostgreSQL: the cookie carries a session id
(never the key) with HttpOnly, SameSite=Strict and Secure; sessions expire, end on sign-out and
with their key; forms are refused from another origin or without the page's token; pages send
CSP and frame-blocking headers; hidden characters are shown escaped; keys expire, record their
last use at most once a minute, and the last active admin key stays."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from features.tables import Enterprise
from service.cli.keys import app as keys_cli
from service.engine.keys import authenticate, create_key
from service.http.auth import Principals
from service.http.pages.visible import visible
from service.http.signins import open_session
from service.store.settings import get_settings
from service.store.tables import ApiKey, SignIn
from tests.service.conftest import AS_OF, ORIGIN, Api, csrf_of, sign_in


def _cookie(api: Api) -> str:
    value = api.client.cookies.get(api.app.state.limits.cookie_name)
    assert value
    return str(value)


def _page(api: Api) -> str:
    return f"/enterprises/{api.province.listed}?as_of={AS_OF}"


def test_the_cookie_holds_a_session_id_and_sign_out_ends_it(api: Api) -> None:
    token = api.key("enterprise", uscc=api.province.listed)
    signed = sign_in(api, token, next=_page(api))
    assert signed.status_code == 303, signed.text
    cookie_header = next(
        h for h in signed.headers.get_list("set-cookie") if h.startswith("safecredit_session=")
    )
    flags = {f.strip().lower() for f in cookie_header.split(";")}
    assert {"httponly", "samesite=strict", "secure", "path=/"} <= flags
    session_id = _cookie(api)
    assert token not in cookie_header and token.split("_", 2)[2] not in cookie_header
    row = api.session.get(SignIn, hashlib.sha256(session_id.encode()).hexdigest())
    assert row is not None and row.revoked_at is None
    assert row.key_id == token.split("_")[1]
    assert row.expires_at.replace(tzinfo=dt.UTC) - row.created_at.replace(
        tzinfo=dt.UTC
    ) == dt.timedelta(minutes=api.app.state.limits.session_minutes)
    assert api.client.get(_page(api)).status_code == 200
    # reading the API with the cookie works; changing anything through it does not
    score = f"/v1/enterprises/{api.province.listed}/score?as_of={AS_OF}"
    assert api.client.get(score).status_code == 200
    body = {"action": "object", "reason": "x"}
    changed = api.client.post(f"/v1/registry/entries/{api.province.entry_id}/actions", json=body)
    assert changed.status_code == 403 and "Bearer" in changed.json()["detail"]
    out = api.client.post(
        "/logout", data={"csrf": csrf_of(api)}, headers={"Origin": ORIGIN}, follow_redirects=False
    )
    assert out.status_code == 303 and out.headers["location"].startswith("/login")
    api.session.refresh(row)
    assert row.revoked_at is not None
    api.client.cookies.set(api.app.state.limits.cookie_name, session_id)  # kept by an attacker
    again = api.client.get(_page(api), follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/login")
    assert api.client.get(score).status_code == 401


def test_an_expired_session_is_refused(api: Api) -> None:
    token = api.key("regulator")
    key_id = token.split("_")[1]
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=9)
    with api.session.begin_nested():
        _, session_id = open_session(
            api.session, key_id=key_id, lifetime=dt.timedelta(hours=8), now=long_ago
        )
        _, live_id = open_session(api.session, key_id=key_id, lifetime=dt.timedelta(hours=8))
    api.client.base_url = ORIGIN  # type: ignore[assignment]
    api.client.cookies.set(api.app.state.limits.cookie_name, session_id)
    refused = api.client.get(_page(api), follow_redirects=False)
    assert refused.status_code == 303 and "/login" in refused.headers["location"]
    api.client.cookies.set(api.app.state.limits.cookie_name, live_id)
    assert api.client.get(_page(api)).status_code == 200


def test_revoking_the_key_ends_its_sessions(api: Api) -> None:
    admin = api.key("admin")
    token = api.key("regulator")
    assert sign_in(api, token).status_code == 303
    session_id = _cookie(api)
    assert api.client.get(_page(api)).status_code == 200
    gone = api.client.delete(f"/v1/keys/{token.split('_')[1]}", headers=api.headers(admin))
    assert gone.status_code == 200, gone.text
    row = api.session.get(SignIn, hashlib.sha256(session_id.encode()).hexdigest())
    assert row is not None
    api.session.refresh(row)
    assert row.revoked_at is not None
    refused = api.client.get(_page(api), follow_redirects=False)
    assert refused.status_code == 303 and "/login" in refused.headers["location"]


def test_a_form_from_another_origin_or_without_the_token_is_refused(api: Api) -> None:
    token = api.key("regulator")
    name = api.app.state.limits.cookie_name
    foreign = sign_in(api, token, origin="https://evil.example")
    assert foreign.status_code == 403 and name not in foreign.headers.get("set-cookie", "")
    assert "另一" in foreign.text or "其他网站" in foreign.text
    csrf = csrf_of(api)
    posts = {
        "no origin": ({"key": token, "csrf": csrf}, {}),
        "null origin": ({"key": token, "csrf": csrf}, {"Origin": "null"}),
        "foreign referer": ({"key": token, "csrf": csrf}, {"Referer": "https://evil.example/"}),
        "no token": ({"key": token}, {"Origin": ORIGIN}),
        "wrong token": ({"key": token, "csrf": csrf[::-1]}, {"Origin": ORIGIN}),
        "http origin": ({"key": token, "csrf": csrf}, {"Origin": "http://testserver"}),
    }
    for why, (data, headers) in posts.items():
        r = api.client.post("/login", data=data, headers=headers, follow_redirects=False)
        assert r.status_code == 403, why
        assert name not in r.headers.get("set-cookie", ""), why
    # a browser sending only a same-origin Referer is admitted
    ok = api.client.post(
        "/login",
        data={"key": token, "csrf": csrf},
        headers={"Referer": f"{ORIGIN}/login"},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and _cookie(api)
    # nor can another site sign the browser out
    out = api.client.post(
        "/logout", data={"csrf": csrf_of(api)}, headers={"Origin": "https://evil.example"}
    )
    assert out.status_code == 403
    assert api.client.get(_page(api)).status_code == 200


def test_the_cookie_goes_without_secure_only_on_loopback_when_allowed(api: Api) -> None:
    token = api.key("regulator")
    limits = api.app.state.limits
    api.app.state.limits = limits.model_copy(update={"plain_http": True})
    try:
        api.client.base_url = "http://127.0.0.1:8000"  # type: ignore[assignment]
        form = api.client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        r = api.client.post(
            "/login",
            data={"key": token, "csrf": csrf.group(1)},
            headers={"Origin": "http://127.0.0.1:8000"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        cookies = r.headers.get_list("set-cookie")
        assert cookies and all("secure" not in c.lower() for c in cookies)
        assert all("httponly" in c.lower() and "samesite=strict" in c.lower() for c in cookies)
        api.client.cookies.clear()
        api.client.base_url = "http://testserver"  # type: ignore[assignment]
        # not a loopback address: Secure all the same
        assert "secure" in api.client.get("/login").headers["set-cookie"].lower()
    finally:
        api.app.state.limits = limits


@pytest.mark.parametrize("api", ["sqlite"], indirect=True)  # headers: one backend
def test_pages_send_security_headers(api: Api) -> None:
    token = api.key("regulator")
    for path, headers in (
        ("/login", {}),
        (_page(api), api.headers(token)),
        (f"/v1/enterprises/{api.province.listed}/score", api.headers(token)),
    ):
        r = api.client.get(path, headers=headers)
        assert r.status_code == 200, path
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'none'" in csp
        assert "default-src 'none'" in csp and "http" not in csp  # nothing from elsewhere
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
    r = api.client.get(_page(api), headers=api.headers(token))
    page, csp = r.text, r.headers["content-security-policy"]
    assert "<script" not in page and "http://" not in page and "https://" not in page
    # no inline style but the page's own <style> block, admitted by this answer's nonce
    assert "unsafe-inline" not in csp and " style=" not in page
    nonce = re.search(r"style-src 'nonce-([^']+)'", csp)
    assert nonce is not None and f'<style nonce="{nonce.group(1)}">' in page
    again = api.client.get(_page(api), headers=api.headers(token))
    assert nonce.group(1) not in again.headers["content-security-policy"]  # one per answer
    docs = api.client.get("/docs")
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
    assert docs.headers["x-frame-options"] == "DENY"


def test_hidden_characters_in_names_are_shown_escaped(api: Api) -> None:
    assert visible("a\x00b\u202ec\u200b\n") == "a\\u0000b\\u202ec\\u200b\\u000a"
    assert visible("安全 ok") == "安全 ok" and visible(3) == 3
    assert visible("\U000e0041") == "\\U000e0041"
    # PostgreSQL keeps no NUL in text: the NUL is shown on SQLite, U+202E on both
    hidden = "\u202e" + ("\x00" if api.backend == "sqlite" else "")
    with api.session.begin_nested():
        api.session.execute(
            update(Enterprise)
            .where(Enterprise.uscc == api.province.listed)
            .values(name="厦门\u202e某公司" + hidden)
        )
    r = api.client.get(_page(api), headers=api.headers(api.key("regulator")))
    assert r.status_code == 200
    assert "\u202e" not in r.text and "\x00" not in r.text
    assert "厦门\\u202e某公司" in r.text
    if api.backend == "sqlite":
        assert "\\u0000" in r.text


def test_a_key_expires(api: Api) -> None:
    admin = api.key("admin")
    made = api.client.post(
        "/v1/keys", json={"role": "insurer", "expires_in": "90d"}, headers=api.headers(admin)
    )
    assert made.status_code == 201, made.text
    expires = dt.datetime.fromisoformat(made.json()["expires_at"])
    assert abs(expires - dt.datetime.now(dt.UTC) - dt.timedelta(days=90)) < dt.timedelta(minutes=5)
    bad = api.client.post(
        "/v1/keys", json={"role": "insurer", "expires_in": "soon"}, headers=api.headers(admin)
    )
    assert bad.status_code == 422 and "expires_in" in bad.json()["detail"]
    token, key_id = made.json()["token"], made.json()["key_id"]
    path = f"/v1/enterprises/{api.province.listed}/score"
    assert api.client.get(path, headers=api.headers(token)).status_code == 200
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    with api.session.begin_nested():
        api.session.execute(update(ApiKey).where(ApiKey.key_id == key_id).values(expires_at=past))
    api.app.state.principals.forget(key_id)  # another process would see it within seconds
    refused = api.client.get(path, headers=api.headers(token))
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]
    assert sign_in(api, token).status_code == 401  # nor can it sign in
    assert authenticate(api.session, token=token) is None


def test_last_use_is_recorded_at_most_once_a_minute(api: Api) -> None:
    admin = api.key("admin")
    token = api.key("insurer")
    key_id = token.split("_")[1]
    path = f"/v1/enterprises/{api.province.listed}/score"

    def last_used() -> str | None:
        keys = api.client.get("/v1/keys", headers=api.headers(admin)).json()
        return next(k["last_used_at"] for k in keys if k["key_id"] == key_id)

    assert last_used() is None
    api.app.state.principals = Principals(0, touch_seconds=60)  # every request checks the key
    assert api.client.get(path, headers=api.headers(token)).status_code == 200
    first = last_used()
    assert first is not None
    assert api.client.get(path, headers=api.headers(token)).status_code == 200
    assert last_used() == first  # within the minute: no write
    api.app.state.principals = Principals(0, touch_seconds=0)
    assert api.client.get(path, headers=api.headers(token)).status_code == 200
    assert last_used() > first  # type: ignore[operator]


def test_the_last_active_admin_key_cannot_be_revoked(api: Api) -> None:
    with api.session.begin_nested():  # other admins of the province's database, if any
        api.session.execute(
            update(ApiKey)
            .where(ApiKey.role == "admin", ApiKey.revoked_at.is_(None))
            .values(revoked_at=dt.datetime.now(dt.UTC))
        )
    first = api.key("admin")
    first_id = first.split("_")[1]
    with api.session.begin_nested():  # an expired admin key does not count
        create_key(api.session, role="admin", expires_in=dt.timedelta(minutes=1))
        api.session.execute(
            update(ApiKey)
            .where(ApiKey.role == "admin", ApiKey.key_id != first_id)
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        )
    refused = api.client.delete(f"/v1/keys/{first_id}", headers=api.headers(first))
    assert refused.status_code == 409 and "last active admin" in refused.json()["detail"]
    second = api.key("admin")
    assert api.client.delete(f"/v1/keys/{first_id}", headers=api.headers(second)).status_code == 200
    second_id = second.split("_")[1]
    again = api.client.delete(f"/v1/keys/{second_id}", headers=api.headers(second))
    assert again.status_code == 409
    assert api.client.get("/v1/keys", headers=api.headers(second)).status_code == 200


def test_the_keys_command_expires_lists_last_use_and_keeps_the_last_admin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFECREDIT_DATABASE_URL", f"sqlite:///{tmp_path / 'keys.db'}")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        made = runner.invoke(keys_cli, ["create", "--role", "insurer", "--expires-in", "90d"])
        assert made.exit_code == 0, made.output
        key_id = made.stdout.split()[1]
        bad = runner.invoke(keys_cli, ["create", "--role", "insurer", "--expires-in", "90"])
        assert bad.exit_code == 2 and "--expires-in" in bad.output
        listed = runner.invoke(keys_cli, ["list"]).stdout
        line = next(x for x in listed.splitlines() if x.startswith(key_id))
        until = (dt.datetime.now(dt.UTC) + dt.timedelta(days=90)).date().isoformat()
        assert "active until " + until in line and "never used" in line
        admin = runner.invoke(keys_cli, ["create", "--role", "admin"])
        admin_id = admin.stdout.split()[1]
        last = runner.invoke(keys_cli, ["revoke", admin_id])
        assert last.exit_code == 1 and "last active admin" in last.output
        assert runner.invoke(keys_cli, ["create", "--role", "admin"]).exit_code == 0
        assert runner.invoke(keys_cli, ["revoke", admin_id]).exit_code == 0
    finally:
        get_settings.cache_clear()
