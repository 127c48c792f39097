"""Schema-driven fuzzing of the real gateway: schemathesis reads /v3/api-docs and generates,
for every operation, requests that follow the document and requests that break its
constraints; each is sent to the gateway of the session's stack with the admin key, and each
answer is checked: no server error (5xx), a status and a content type the document declares,
a body that conforms to the declared schema.

Bounded so that the pass takes a few minutes on a 2-core machine: the document's examples
plus MAX_EXAMPLES cases per operation and mode, generated from a fixed seed (a run is
reproducible, and a failure names the request that caused it), no shrinking of failures
(each shrinking step is another request), each request within REQUEST_TIMEOUT_SECONDS.

Nothing is excluded. Operations that start a generation (chat, completions, RAG answers)
would run for as long as a random max_tokens lets them on a CPU model, so their token budget
is capped before sending (max_tokens when absent or larger, max_completion_tokens, n); every
other field, and every value the gateway refuses anyway, is sent as generated.

Written against the Python API (operation strategies), not schemathesis' pytest plugin: the
plugin's lazy schemas (needed for a schema served by a session fixture) do not run under
pytest 9 in schemathesis 4.32."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

MAX_EXAMPLES = 25
REQUEST_TIMEOUT_SECONDS = 60
# Enough for an answer of a few tokens on a CPU model: the cap on what a generation may cost.
MAX_TOKENS = 4
MAX_CHOICES = 2
GENERATING = {"/v1/chat/completions", "/v1/completions", "/v1/rag/collections/{name}/answers"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ_SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                         report_multiple_bugs=False)


@pytest.fixture(scope="module")
def gateway_schema(stack):
    return schemathesis.openapi.from_url(f"{stack.gateway_url}/v3/api-docs", timeout=120)


def test_every_operation_answers_without_server_errors_as_documented(stack, gateway_schema):
    auth = {"Authorization": f"Bearer {stack.admin_key()}"}
    operations, broken = [], []
    for result in gateway_schema.get_all_operations():
        try:
            operations.append(result.ok())
        except Exception as error:  # noqa: BLE001 - an operation schemathesis cannot read is a finding
            broken.append(str(error))
    assert not broken, broken
    # Every route of the gateway; fewer would mean the document lost some.
    assert len(operations) >= 30, [operation.label for operation in operations]

    failures = []
    for operation in operations:
        strategies = [("document's examples", s) for s in gateway_schema.get_strategies_from_examples(operation)]
        strategies += [(f"{mode.value} data", operation.as_strategy(generation_mode=mode))
                       for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
        for source, strategy in strategies:
            failure = _first_failure(strategy, stack.gateway_url, auth)
            if failure is not None:
                failures.append(f"{operation.label}, {source}:\n{failure}")
    assert not failures, "\n\n".join(failures)


def _first_failure(strategy, base_url: str, headers: dict) -> str | None:
    @FUZZ_SETTINGS
    @given(case=strategy)
    def each(case):
        bounded(case)
        case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS, timeout=REQUEST_TIMEOUT_SECONDS)

    try:
        each()
    # schemathesis reports several failures of one request as a group (not an Exception).
    except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 - reported with their request
        return str(failure) if not isinstance(failure, BaseExceptionGroup) else _described(failure)
    return None


def _described(group: BaseExceptionGroup) -> str:
    return "\n".join([str(group)] + [f"- {type(e).__name__}: {e}" for e in group.exceptions])


def bounded(case) -> None:
    """Caps what a generating operation may cost; other bodies, and values the gateway refuses
    anyway (not an integer, below 1), are left as generated."""
    if case.operation.path not in GENERATING or not isinstance(case.body, dict):
        return
    tokens = case.body.get("max_tokens")
    # Absent (or 0 for an answer) means the model's or the service's default: far more than needed.
    if tokens is None or tokens == 0 or _integer(tokens) and tokens > MAX_TOKENS:
        case.body["max_tokens"] = MAX_TOKENS
    if _integer(case.body.get("max_completion_tokens")) and case.body["max_completion_tokens"] > MAX_TOKENS:
        case.body["max_completion_tokens"] = MAX_TOKENS
    if _integer(case.body.get("n")) and case.body["n"] > MAX_CHOICES:
        case.body["n"] = MAX_CHOICES


def _integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
