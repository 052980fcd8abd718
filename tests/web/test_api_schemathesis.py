"""Schemathesis against the app's own /api/v1/openapi.json (WSGI, stateless, a valid token):
whatever it sends, valid or not, the API answers without a 5xx and as the document says.

One test per operation and kind of input, each with a bounded number of examples, so a
failure names the operation and the whole run stays well under a minute. The documented
request examples run too: on the test clock they book for real, so the success answers are
checked against the document as well as the refusals. (Schemathesis' own pytest loader does
not run on pytest 9 yet, so its strategies are driven with Hypothesis directly.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from web.api.openapi import openapi_document

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
EXAMPLES = {"examples": 5, "positive": 40, "negative": 20}


def wanted(operation: dict, mode: str) -> bool:
    """Negative cases need an input to break; the examples phase needs examples."""
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    if mode == "examples":
        return "examples" in body
    return mode == "positive" or bool(body) or "parameters" in operation


CASES = [pytest.param(method.upper(), path, mode, id=f"{method.upper()} {path} {mode}")
         for path, operations in openapi_document()["paths"].items()
         for method, operation in operations.items()
         for mode in EXAMPLES if wanted(operation, mode)]


@pytest.mark.slow
@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_the_api_keeps_its_documented_promises(app, token, helpers, method, path, mode):
    operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)[path][method]
    cases = (st.one_of(operation.get_strategies_from_examples()) if mode == "examples"
             else operation.as_strategy(generation_mode=GenerationMode(mode)))
    auth = {"Authorization": f"Bearer {token}"}

    @settings(max_examples=EXAMPLES[mode], deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=cases)
    def answers_as_documented(case) -> None:
        case.call_and_validate(headers=auth, checks=CHECKS)

    answers_as_documented()
