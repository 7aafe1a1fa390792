"""The task retry policy retries an LLM call that may pass later (HTTP 429, 5xx) and nothing else.

A Prefect task with the options every skuflow task uses (`tasks/policy.py`; delays zeroed so
the test waits on nothing) calls the real client against the local OpenAI-protocol server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from llm.client import LLMClient, LLMHTTPError, LLMSettings
from tasks.policy import TASK_OPTIONS, is_transient_failure
from tests.llm_server import LLMServer

pytestmark = pytest.mark.usefixtures("prefect_harness")

SCHEMA = {
    "type": "object",
    "properties": {"category": {"type": "string", "enum": ["Tools", "Garden"]}},
    "required": ["category"],
    "additionalProperties": False,
}
MESSAGES = [{"role": "user", "content": "Cordless drill 18V"}]


@task(
    cache_policy=NO_CACHE,
    retry_condition_fn=is_transient_failure,
    **{**TASK_OPTIONS, "retry_delay_seconds": 0},
)
def ask(base_url: str, cache_dir: str) -> Any:
    settings = LLMSettings(
        base_url=base_url, model="test-model", api_key="sk-test", cache_dir=Path(cache_dir)
    )
    with LLMClient(settings, cache=False) as client:
        return client.ask_json(MESSAGES, SCHEMA).data


@flow
def classify_once(base_url: str, cache_dir: str) -> Any:
    return ask(base_url, cache_dir)


def _run(server: LLMServer, tmp_path: Path) -> Any:
    return classify_once(server.base_url, str(tmp_path / "cache"))


def test_a_429_is_retried_and_the_retry_answers(tmp_path: Path) -> None:
    with LLMServer(responder=lambda body: {"category": "Tools"}) as server:
        server.fail_status, server.fail_times = 429, 1
        assert _run(server, tmp_path) == {"category": "Tools"}
        assert len(server.chat_requests) == 2


def test_a_503_that_persists_is_tried_as_often_as_the_policy_allows(tmp_path: Path) -> None:
    with LLMServer() as server:
        server.fail_status = 503
        with pytest.raises(LLMHTTPError, match="HTTP 503") as raised:
            _run(server, tmp_path)
        assert raised.value.transient
        assert len(server.chat_requests) == 1 + TASK_OPTIONS["retries"]


def test_a_400_is_not_retried(tmp_path: Path) -> None:
    with LLMServer() as server:
        server.fail_status, server.fail_times = 400, 1
        with pytest.raises(LLMHTTPError, match="HTTP 400") as raised:
            _run(server, tmp_path)
        assert not raised.value.transient
        assert len(server.chat_requests) == 1
