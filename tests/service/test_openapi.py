"""The OpenAPI document describes every field: a schema property without a description fails
here, so a new response field cannot go undocumented."""

from __future__ import annotations

from pathlib import Path

from service.http.app import create_app
from tests.service.conftest import settings_for


def test_every_schema_property_has_a_description(tmp_path: Path) -> None:
    spec = create_app(settings_for(tmp_path)).openapi()
    schemas = spec["components"]["schemas"]
    undescribed = [
        f"{name}.{field}"
        for name, schema in schemas.items()
        for field, prop in (schema.get("properties") or {}).items()
        if not str(prop.get("description", "")).strip()
    ]
    # the responses the routes declare are among the schemas checked
    assert {"ScoreOut", "CheckOut", "QuoteDecision", "BatchOut", "ErrorOut", "Readiness"} <= set(
        schemas
    )
    assert undescribed == []
