"""A bounded, derandomised schemathesis run over every operation in /openapi.json, through the
real server with a valid key, with requests that fit the schema (positive) and requests that
break it (negative: wrong types, out-of-range numbers, missing fields, odd strings): none may
get a 5xx."""

from __future__ import annotations

import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.api.conftest import Api

MAX_EXAMPLES = 3
"""Per operation and mode; with ~65 operations × 2 modes (about 400 requests) the run stays
near a minute on two shared cores."""

pytestmark = pytest.mark.slow


def _run(operation, mode: GenerationMode, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,  # the fixed seed: the same requests on every run
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(case) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error], timeout=30)

    call()


def test_no_operation_answers_with_a_server_error(api: Api) -> None:
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    _, key = api.new_key()
    headers = {"Authorization": f"Bearer {key}"}
    failures: dict[str, str] = {}
    no_negative: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 60
    started = time.monotonic()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _run(operation, mode, headers)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.label
                no_negative.append(operation.label)  # nothing in it can be broken (no inputs)
            except Exception as exc:  # collected, so one run reports every operation
                failures[f"{operation.label} ({mode.value})"] = str(exc)[:2000]
    print(
        f"schemathesis: {len(operations)} operations, positive and negative "
        f"({len(no_negative)} without inputs to break), in {time.monotonic() - started:.0f} s"
    )
    assert len(no_negative) < 5, no_negative
    assert not failures, "\n\n".join(f"{label}:\n{error}" for label, error in failures.items())
