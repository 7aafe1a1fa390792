"""A bounded, derandomised schemathesis run over every operation in /openapi.json, through the
real server with a valid key: no request, however odd, gets a 5xx."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error

from tests.api.conftest import Api

MAX_EXAMPLES = 3
"""Per operation; with ~40 operations (about 120 requests) the run stays well under a minute
on two shared cores."""


def test_no_operation_answers_with_a_server_error(api: Api) -> None:
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    _, key = api.new_key()
    headers = {"Authorization": f"Bearer {key}"}
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def call(case) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error], timeout=30)

        try:
            call()
        except Exception as exc:  # collected, so one run reports every operation
            failures[operation.label] = str(exc)[:2000]
    assert not failures, "\n\n".join(f"{label}:\n{error}" for label, error in failures.items())
