"""The API reference renders with no network: ``/docs`` references no other host, and every
script, style sheet and image it references is served by the service itself, under a CSP that
admits them and nothing from elsewhere."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from service.http.app import create_app
from tests.service.conftest import AS_OF, Api, settings_for

REFERENCE = re.compile(r'(?:src|href)\s*=\s*"([^"]+)"')


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(tmp_path))) as c:
        yield c


def external(page: str) -> list[str]:
    """Every reference of ``page`` (attributes, ``url(...)``, bare addresses) to another host."""
    found = REFERENCE.findall(page) + re.findall(r"url\(([^)]+)\)", page)
    found += re.findall(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}", page)
    return [u for u in found if urlsplit(u.strip("'\"")).netloc]


def test_docs_page_and_its_assets_come_from_the_service(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert external(page.text) == []
    assets = REFERENCE.findall(page.text)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert any(a.endswith(".css") for a in assets)
    for asset in assets:
        r = client.get(asset)
        assert r.status_code == 200, asset
        assert len(r.content) > 0
    script = client.get("/static/pages/docs.js").text
    assert "/openapi.json" in script and "validatorUrl: null" in script
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "http" not in csp  # no host admitted but the service's own
    assert "<script>" not in page.text  # no inline script: the CSP would refuse it
    assert client.get("/openapi.json").status_code == 200


def test_redoc_is_not_offered_and_the_reference_is_not_in_the_schema(client: TestClient) -> None:
    assert client.get("/redoc").status_code == 404
    paths = client.get("/openapi.json").json()["paths"]
    assert "/docs" not in paths and not any(p.startswith("/static") for p in paths)


@pytest.mark.parametrize("api", ["sqlite"], indirect=True)
def test_no_page_references_another_host(api: Api) -> None:
    pages = {
        "/login": None,
        "/checks?q=山西": "approval_office",
        "/quotes": "insurer",
        f"/enterprises/{api.province.listed}?as_of={AS_OF}": "regulator",
        f"/quotes/worksheet?uscc={api.province.listed}&period_start=2026-04-01": "insurer",
    }
    for path, role in pages.items():
        headers = api.headers(api.key(role)) if role else {}
        page = api.client.get(path, headers=headers)
        assert page.status_code == 200, (path, page.text[:500])
        assert external(page.text) == [], path
        for asset in REFERENCE.findall(page.text):
            if asset.startswith("/static/"):
                assert api.client.get(asset).status_code == 200, asset
