"""Who may do what: the whole role × endpoint matrix (an enterprise asking about another
enterprise included), keys kept only as hashes, revocation, and ``safecredit keys``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from models.tariff import load_tariff
from service.cli.keys import app as keys_cli
from service.engine.keys import create_key
from service.http.auth import Principals, resolve
from service.store.db import make_engine
from service.store.settings import get_settings
from service.store.tables import ApiKey
from tests.conftest import Clock
from tests.service.conftest import AS_OF, Api

ROLES = ("insurer", "approval_office", "enterprise", "regulator", "admin")


def _tokens(api: Api) -> dict[str, str]:
    p = api.province
    return {
        "insurer": api.key("insurer"),
        "approval_office": api.key("approval_office"),
        "enterprise": api.key("enterprise", uscc=p.listed),
        "regulator": api.key("regulator", department=p.department),
        "admin": api.key("admin"),
    }


def test_every_role_against_every_endpoint(api: Api, frozen: Clock) -> None:
    frozen.day = dt.date(2026, 6, 1)
    p, t = api.province, _tokens(api)
    first = api.client.get(
        f"/v1/enterprises/{p.listed}/score",
        params={"as_of": str(AS_OF)},
        headers=api.headers(t["regulator"]),
    )
    decision_id = first.json()["decision_id"]
    repair = {
        "action": "apply_repair",
        "reason": "penalty carried out",
        "details": {"commitment_signed_on": str(AS_OF)},
    }
    check = {"usccs": [p.listed], "domain": "bidding", "as_of": str(AS_OF)}
    amount = load_tariff().insurance.min_insured_amount_cny
    quote = {
        "uscc": p.listed,
        "insured_amount_cny": amount,
        "period_start": "2026-04-01",
        "as_of": str(AS_OF),
    }
    book = [{"uscc": p.listed, "premium_cny": 20_000.0}]
    prevention = {"book": book, "capacity": 1, "as_of": str(AS_OF)}
    # expected status per role, in the order of ROLES
    matrix = [
        ("GET", f"/v1/enterprises/{p.listed}/score", None, (200, 403, 200, 200, 403)),
        ("GET", f"/v1/enterprises/{p.unlisted}/score", None, (200, 403, 403, 200, 403)),
        ("POST", "/v1/registry/checks", check, (403, 200, 403, 200, 403)),
        ("GET", f"/v1/registry/entries?uscc={p.listed}", None, (200, 200, 200, 200, 403)),
        ("GET", f"/v1/registry/entries?uscc={p.unlisted}", None, (200, 200, 403, 200, 403)),
        # allowed to file, refused by the procedure: repair may be applied for from 2027-02-05
        ("POST", f"/v1/registry/entries/{p.entry_id}/actions", repair, (403, 403, 409, 409, 403)),
        ("GET", f"/v1/decisions/{decision_id}", None, (403, 403, 200, 200, 403)),
        ("GET", "/v1/keys", None, (403, 403, 403, 403, 200)),
        ("POST", "/v1/premiums/quotes", quote, (200, 403, 200, 200, 403)),
        ("POST", "/v1/premiums/quotes", {**quote, "uscc": p.unlisted}, (200, 403, 403, 200, 403)),
        ("POST", "/v1/premiums/quotes/batch", {"quotes": [quote]}, (200, 403, 403, 200, 403)),
        ("GET", f"/v1/plans/inspections?capacity=3&as_of={AS_OF}", None, (403, 403, 403, 200, 403)),
        ("POST", "/v1/plans/prevention", prevention, (200, 403, 403, 403, 403)),
    ]
    seen = {}
    for method, path, body, expected in matrix:
        for role, want in zip(ROLES, expected, strict=True):
            r = api.client.request(method, path, json=body, headers=api.headers(t[role]))
            seen[(method, path, role)] = r.status_code
            assert r.status_code == want, (method, path, role, r.text)
            if r.status_code >= 400:
                assert set(r.json()) == {"error", "detail"}
        anonymous = api.client.request(method, path, json=body)
        assert anonymous.status_code == 401 and anonymous.json()["error"] == "unauthorized"
    refused = api.client.get(
        f"/v1/enterprises/{p.unlisted}/score", headers=api.headers(t["enterprise"])
    )
    assert "own enterprise" in refused.json()["detail"]  # and nothing about the other one
    assert p.unlisted not in refused.text


def test_a_regulator_acts_only_for_its_own_department(api: Api) -> None:
    p = api.province
    body = {
        "action": "correct",
        "reason": "typo in the name",
        "details": {"corrections": {"note": "name spelt as registered"}},
    }
    other = api.key("regulator", department="另一个应急管理局")
    reader = api.key("regulator")
    path = f"/v1/registry/entries/{p.entry_id}/actions"
    refused = api.client.post(path, json=body, headers=api.headers(other))
    assert refused.status_code == 403 and p.department in refused.json()["detail"]
    assert api.client.post(path, json=body, headers=api.headers(reader)).status_code == 403
    mine = api.key("regulator", department=p.department)
    done = api.client.post(path, json=body, headers=api.headers(mine))
    assert done.status_code == 200, done.text
    assert done.json()["department"] == p.department and done.json()["status"]["in_force"]
    stale = api.client.post(path, json={**body, "expected_version": 1}, headers=api.headers(mine))
    assert stale.status_code == 409 and "read it again" in stale.json()["detail"]


def test_keys_are_kept_only_as_hashes_and_revocation_is_immediate(api: Api) -> None:
    admin = api.key("admin")
    made = api.client.post(
        "/v1/keys", json={"role": "insurer", "name": "某保险公司"}, headers=api.headers(admin)
    )
    assert made.status_code == 201, made.text
    token, key_id = made.json()["token"], made.json()["key_id"]
    secret = token.split("_", 2)[2]
    row = api.session.scalars(select(ApiKey).where(ApiKey.key_id == key_id)).one()
    stored = " ".join(str(getattr(row, c.name)) for c in ApiKey.__table__.columns)
    assert secret not in stored and token not in stored and len(row.secret_sha256) == 64
    listed = api.client.get("/v1/keys", headers=api.headers(admin)).json()
    assert key_id in {k["key_id"] for k in listed} and all("token" not in k for k in listed)
    path = f"/v1/enterprises/{api.province.listed}/score"
    assert api.client.get(path, headers=api.headers(token)).status_code == 200
    forged = token[:-4] + ("aaaa" if not token.endswith("aaaa") else "bbbb")
    assert api.client.get(path, headers=api.headers(forged)).status_code == 401
    gone = api.client.delete(f"/v1/keys/{key_id}", headers=api.headers(admin))
    assert gone.status_code == 200 and gone.json()["revoked_at"]
    again = api.client.get(path, headers=api.headers(token))
    assert again.status_code == 401 and "revoked" in again.json()["detail"]


@pytest.mark.parametrize("api", ["sqlite"], indirect=True)  # input checks: one backend
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "enterprise"}, "uscc"),
        ({"role": "enterprise", "uscc": "91350200MA31E12P"}, "uscc"),
        ({"role": "insurer", "uscc": "91350200MA31E12PXF"}, "uscc"),
        ({"role": "insurer", "department": "某局"}, "department"),
        ({"role": "superuser"}, "role"),
    ],
)
def test_a_bad_key_request_names_the_field(api: Api, body: dict, field: str) -> None:
    r = api.client.post("/v1/keys", json=body, headers=api.headers(api.key("admin")))
    assert r.status_code == 422 and field in r.json()["detail"], r.text


def test_the_keys_command_creates_lists_and_revokes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFECREDIT_DATABASE_URL", f"sqlite:///{tmp_path / 'keys.db'}")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        made = runner.invoke(
            keys_cli,
            [
                "create",
                "--role",
                "enterprise",
                "--uscc",
                "91350200MA31E12PXF",
                "--name",
                "厦门某公司",
            ],
        )
        assert made.exit_code == 0, made.output
        key_id = made.stdout.split()[1]
        assert "sc_" + key_id in made.stdout
        refused = runner.invoke(keys_cli, ["create", "--role", "enterprise"])
        assert refused.exit_code == 2 and "uscc" in refused.output
        listed = runner.invoke(keys_cli, ["list"])
        assert key_id in listed.stdout and "active" in listed.stdout
        assert "sc_" not in listed.stdout
        assert runner.invoke(keys_cli, ["revoke", key_id]).exit_code == 0
        assert "revoked" in runner.invoke(keys_cli, ["list"]).stdout
        assert runner.invoke(keys_cli, ["revoke", "nosuchkey"]).exit_code == 2
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("api", ["sqlite"], indirect=True)
def test_dates_in_paths_and_bodies_are_checked(api: Api) -> None:
    token = api.key("regulator")
    r = api.client.get(
        f"/v1/enterprises/{api.province.listed}/score",
        params={"as_of": "2026-02-30"},
        headers=api.headers(token),
    )
    assert r.status_code == 422 and "as_of" in r.json()["detail"]
    body = {"usccs": [api.province.listed], "domain": "bidding", "as_of": "yesterday"}
    r = api.client.post("/v1/registry/checks", json=body, headers=api.headers(token))
    assert r.status_code == 422 and "as_of" in r.json()["detail"]
    assert dt.date.today()  # the default as_of is today's date, not a literal


def test_a_key_use_is_recorded_while_another_process_writes(tmp_path: Path) -> None:
    """Two workers on one SQLite file: another process commits between the key's lookup and
    the record of its use. The record waits for the lock; it never fails the request with
    "database is locked" (as a read turned write does, whatever the busy timeout)."""
    url = f"sqlite:///{tmp_path / 'two.db'}"
    engine, other = make_engine(url), make_engine(url)
    ApiKey.metadata.create_all(engine, tables=[ApiKey.__table__])
    with Session(engine) as session, session.begin():
        row, token = create_key(session, role="insurer", name="a")
        key_id = row.key_id
        create_key(session, role="insurer", name="b")

    class Meanwhile(Principals):
        def due(self, key_id: str) -> bool:  # the other worker commits a write just now
            with other.begin() as conn:
                conn.execute(update(ApiKey).where(ApiKey.name == "b").values(name="b2"))
            return super().due(key_id)

    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(principals=Meanwhile(0))))
    with Session(engine) as session:
        principal = resolve(request, session, ("key", token))  # type: ignore[arg-type]
    assert principal is not None and principal.key_id == key_id
    with Session(engine) as session:
        assert session.get(ApiKey, key_id).last_used_at is not None  # type: ignore[union-attr]
    engine.dispose()
    other.dispose()
