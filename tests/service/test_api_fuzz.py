"""Property-based fuzzing of the whole OpenAPI schema (schemathesis, bounded examples): valid and
invalid requests to every operation; no 5xx, and every response conforms to the schema —
declared status, content type and body."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode

from tests.service.conftest import Api

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 12  # per operation and mode: bounded, the suite stays fast


@pytest.mark.parametrize("api", ["sqlite"], indirect=True)
def test_the_schema_holds_under_fuzzing(api: Api) -> None:
    p = api.province
    tokens = {"admin": api.key("admin"), "regulator": api.key("regulator", department=p.department)}
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} >= {
        "GET /v1/enterprises/{uscc}/score",
        "POST /v1/registry/checks",
        "GET /v1/registry/entries",
        "POST /v1/registry/entries/{entry_id}/actions",
        "GET /v1/decisions/{decision_id}",
    }
    negative: set[str] = set()
    for operation in operations:
        role = "admin" if operation.path.startswith("/v1/keys") else "regulator"
        headers = {"Authorization": f"Bearer {tokens[role]}"}
        _fuzzer(operation, GenerationMode.POSITIVE, headers)()
        try:
            _fuzzer(operation, GenerationMode.NEGATIVE, headers)()
            negative.add(operation.label)
        except Unsatisfiable:  # nothing to get wrong: an operation without parameters or body
            assert not list(operation.iter_parameters()), operation.label
    assert len(negative) >= 8


def _fuzzer(operation, mode, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(headers=headers, checks=CHECKS)

    return fuzz
