"""Watchlists, the change feed and webhook subscriptions over HTTP: who may watch what, bad codes
named and nothing changed, the feed filtered by role, URLs that would reach beyond loopback
refused."""

from __future__ import annotations

from features.uscc import with_check
from tests.service.conftest import Api

MANY = [with_check(f"91110000{i:09d}") for i in range(100_000)]


def _feed(api: Api, token: str, *, codes_only: bool = True, **params: object) -> dict:
    """A page of the feed (``codes_only``: without events about no one enterprise)."""
    r = api.client.get("/v1/changes", params=params, headers=api.headers(token))
    assert r.status_code == 200, r.text
    page = r.json()
    if codes_only:
        page["events"] = [e for e in page["events"] if e["uscc"] is not None]
    return page


def test_watchlists_in_bulk_with_bad_codes_named(api: Api) -> None:
    token = api.key("insurer")
    h = api.headers(token)
    r = api.client.post("/v1/watchlists", json={"name": "renewals", "codes": MANY}, headers=h)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["codes"] == 100_000 and made["name"] == "renewals"
    wid = made["watchlist_id"]
    bad = ["91350200MA31E12PXA", "not-a-code", MANY[0]]
    r = api.client.post(f"/v1/watchlists/{wid}/codes", json={"codes": bad}, headers=h)
    assert r.status_code == 422 and r.json()["error"] == "bad_input"
    detail = r.json()["detail"]
    assert "codes[0] '91350200MA31E12PXA': check character is wrong" in detail
    assert "codes[1] 'NOT-A-CODE'" in detail and "codes[2]" not in detail
    r = api.client.post(
        f"/v1/watchlists/{wid}/codes", json={"codes": [*MANY[:10], api.province.listed]}, headers=h
    )
    assert r.json() == {"watchlist_id": wid, "changed": 1, "codes": 100_001}
    r = api.client.post(f"/v1/watchlists/{wid}/codes/remove", json={"codes": MANY[:5]}, headers=h)
    assert r.json()["changed"] == 5 and r.json()["codes"] == 99_996
    page = api.client.get(f"/v1/watchlists/{wid}/codes", params={"limit": 3}, headers=h).json()
    assert page["codes"] == sorted(page["codes"]) and len(page["codes"]) == 3
    too_many = [*MANY, with_check("91120000000000001")]
    r = api.client.post(f"/v1/watchlists/{wid}/codes", json={"codes": too_many}, headers=h)
    assert r.status_code == 422 and "at most 100,000" in r.json()["detail"]
    r = api.client.post("/v1/watchlists", json={"name": "renewals"}, headers=h)
    assert r.status_code == 409
    lists = api.client.get("/v1/watchlists", headers=h).json()
    assert [(w["name"], w["codes"]) for w in lists] == [("renewals", 99_996)]
    # another key sees none of it
    other = api.headers(api.key("insurer"))
    assert api.client.get("/v1/watchlists", headers=other).json() == []
    assert api.client.delete(f"/v1/watchlists/{wid}", headers=other).status_code == 404
    assert api.client.delete(f"/v1/watchlists/{wid}", headers=h).status_code == 200
    assert api.client.get("/v1/watchlists", headers=h).json() == []


def test_an_enterprise_watches_only_itself_and_admins_not_at_all(api: Api) -> None:
    own = api.province.listed
    h = api.headers(api.key("enterprise", uscc=own))
    r = api.client.post(
        "/v1/watchlists", json={"name": "me", "codes": [api.province.unlisted]}, headers=h
    )
    assert r.status_code == 403 and "only itself" in r.json()["detail"]
    r = api.client.post("/v1/watchlists", json={"name": "me", "codes": [own]}, headers=h)
    assert r.status_code == 201
    admin = api.headers(api.key("admin"))
    assert api.client.post("/v1/watchlists", json={"name": "x"}, headers=admin).status_code == 403
    assert api.client.get("/v1/changes", headers=admin).status_code == 403


def test_the_feed_tells_each_role_what_it_may_hear(api: Api) -> None:
    listed = api.province.listed
    regulator = api.key("regulator", department=api.province.department)
    everything = _feed(api, regulator, limit=1000)["events"]
    steps = [e["type"] for e in everything if e["uscc"] == listed]
    assert steps == [
        "registry.proposed",
        "registry.notified",
        "registry.decided",
        "registry.published",
    ]
    insurer = api.key("insurer")
    assert _feed(api, insurer)["events"] == []  # watches nothing yet
    api.client.post(
        "/v1/watchlists", json={"name": "b", "codes": [listed]}, headers=api.headers(insurer)
    )
    page = _feed(api, insurer)
    assert [e["type"] for e in page["events"]] == ["registry.published"]
    published = page["events"][0]
    assert published["effective_on"] == "2026-02-05"
    assert published["payload"]["term_ends_on"] == "2029-02-05"
    assert _feed(api, insurer, since=page["next_cursor"])["events"] == []
    own = api.key("enterprise", uscc=listed)
    api.client.post(
        "/v1/watchlists", json={"name": "me", "codes": [listed]}, headers=api.headers(own)
    )
    assert [e["type"] for e in _feed(api, own)["events"]] == steps
    r = api.client.get("/v1/changes", params={"since": "bm9wZQ"}, headers=api.headers(insurer))
    assert r.status_code == 422 and "not a cursor" in r.json()["detail"]


def test_webhooks_reach_loopback_only(api: Api) -> None:
    h = api.headers(api.key("approval_office"))
    for url in (
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest",
        "ftp://127.0.0.1/x",
        "http://user:pw@127.0.0.1/x",
        "http://[::ffff:10.0.0.1]/",
    ):
        r = api.client.post("/v1/webhooks", json={"url": url}, headers=h)
        assert r.status_code == 422, (url, r.text)
    r = api.client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=h)
    assert r.status_code == 201
    made = r.json()
    assert made["secret"].startswith("whsec_") and len(made["secret"]) > 30
    listed = api.client.get("/v1/webhooks", headers=h).json()
    assert [s["subscription_id"] for s in listed] == [made["subscription_id"]]
    assert "secret" not in listed[0]
    sid = made["subscription_id"]
    assert api.client.get(f"/v1/webhooks/{sid}/deliveries", headers=h).json() == []
    other = api.headers(api.key("insurer"))
    assert api.client.get(f"/v1/webhooks/{sid}/deliveries", headers=other).status_code == 404
    assert api.client.delete(f"/v1/webhooks/{sid}", headers=h).status_code == 200
    assert api.client.get("/v1/webhooks", headers=h).json() == []


def test_a_grade_change_between_two_books_is_announced_once(api: Api, scorer, frozen) -> None:
    """Today's book keeps the grades; a listing published the same day changes one enterprise's
    grade as answered, and the next book announces it — once, to whoever watches the code."""
    import datetime as dt

    from sqlalchemy.orm import sessionmaker

    from registry.evaluate import evaluate
    from registry.policy import find_policy
    from registry.procedure import act, propose
    from service.engine.books import Books
    from service.engine.notify.grades import announce_book
    from tests.service.conftest import AS_OF, END

    frozen.day = AS_OF
    made = sessionmaker(bind=api.session.connection(), join_transaction_mode="create_savepoint")
    books = Books(
        made,
        [AS_OF.isoformat()],
        background=False,
        on_built=lambda s, book: announce_book(made, s, book, today=frozen.day),
    )
    policy = find_policy("mem11")
    from service.engine.decisions import score_batch

    with api.session.begin_nested():
        proposals = [
            p
            for p in evaluate(api.session, policy=policy, as_of=END)
            if p.uscc != api.province.listed
        ]
        # one whose grade a listing changes: not graded D already by its conduct
        batch = score_batch(api.session, scorer, as_of=AS_OF, usccs=[p.uscc for p in proposals])
        proposal = next(p for p, g in zip(proposals, batch.scored.grade, strict=True) if g != "D")
    code = proposal.uscc
    insurer = api.key("insurer")
    api.client.post(
        "/v1/watchlists", json={"name": "b", "codes": [code]}, headers=api.headers(insurer)
    )
    books.build_now(scorer, AS_OF)  # the first book: marks only
    before = _feed(api, insurer, codes_only=False, limit=1000)["events"]
    assert [e["type"] for e in before if e["uscc"] == code] == []
    assert "model.champion" in [e["type"] for e in before]
    who = {"actor": "reg-1", "department": proposal.department}
    with api.session.begin_nested():
        entry = propose(
            api.session, proposal=proposal, policy=policy, on=dt.date(2026, 3, 2), **who
        )
        for action, day in (("notify", (3, 3)), ("decide", (3, 30)), ("publish", (3, 31))):
            act(
                api.session,
                entry_id=entry.entry_id,
                action=action,
                on=dt.date(2026, *day),
                reason=action,
                **who,
            )
    books.build_now(scorer, AS_OF)
    books.build_now(scorer, AS_OF)  # nothing new: nothing announced
    events = [e for e in _feed(api, insurer, limit=1000)["events"] if e["uscc"] == code]
    assert [e["type"] for e in events] == ["registry.published", "score.grade_changed"]
    change = events[1]["payload"]
    assert change["grade"] == scorer.policy.overrides.listed_grade != change["previous_grade"]
    assert change["as_of"] == AS_OF.isoformat() and change["versions"]["model"].endswith("/test")
