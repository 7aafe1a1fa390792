"""The OpenAI-compatible client against the local chat-completions server (tests/llm_server.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm.client import (
    LLMClient,
    LLMHTTPError,
    LLMMalformedAnswer,
    LLMNotConfigured,
    LLMSettings,
    LLMTimeout,
)
from tests.llm_server import LLMServer

SCHEMA = {
    "type": "object",
    "properties": {
        "category": {"type": "string", "enum": ["Tools", "Garden"]},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "required": ["category", "confidence"],
    "additionalProperties": False,
}
MESSAGES = [
    {"role": "system", "content": "Classify the product."},
    {"role": "user", "content": "Cordless drill 18V"},
]


def _client(server: LLMServer, tmp_path: Path, **overrides: object) -> LLMClient:
    settings = LLMSettings(
        base_url=server.base_url,
        model="test-model",
        api_key="sk-secret-value",
        cache_dir=tmp_path / "cache",
        **overrides,
    )
    return LLMClient(settings)


def test_structured_answer_is_parsed_with_usage_and_schema_sent(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.responder = lambda body: {"category": "Tools", "confidence": 0.8}
    with _client(llm_server, tmp_path) as client:
        answer = client.ask_json(MESSAGES, SCHEMA, schema_name="category")
    assert answer.data == {"category": "Tools", "confidence": 0.8}
    assert not answer.cached and answer.model == "test-model"
    assert answer.usage.prompt_tokens == 6 and answer.usage.total_tokens > 6
    [request] = llm_server.chat_requests
    assert request.body["model"] == "test-model"
    assert request.body["messages"] == MESSAGES
    assert request.body["response_format"]["type"] == "json_schema"
    assert request.schema == SCHEMA
    assert request.headers["authorization"] == "Bearer sk-secret-value"


def test_repeated_question_is_answered_from_the_cache(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.responder = lambda body: {"category": "Garden", "confidence": 0.5}
    with _client(llm_server, tmp_path) as client:
        first = client.ask_json(MESSAGES, SCHEMA)
    with _client(llm_server, tmp_path) as client:  # a new process would see the same files
        again = client.ask_json(MESSAGES, SCHEMA)
        other = client.ask_json([*MESSAGES[:1], {"role": "user", "content": "Hose"}], SCHEMA)
    assert again.data == first.data and again.cached and again.usage.total_tokens == 0
    assert not other.cached
    assert len(llm_server.chat_requests) == 2


def test_malformed_and_off_schema_answers_raise(llm_server: LLMServer, tmp_path: Path) -> None:
    client = _client(llm_server, tmp_path)
    llm_server.malformed = True
    with pytest.raises(LLMMalformedAnswer, match="not JSON"):
        client.ask_json(MESSAGES, SCHEMA)
    llm_server.malformed = False
    llm_server.responder = lambda body: {"category": "Kitchen", "confidence": 0.5}
    with pytest.raises(LLMMalformedAnswer, match="at category") as caught:
        client.ask_json(MESSAGES, SCHEMA)
    assert not caught.value.transient
    llm_server.responder = lambda body: '```json\n{"category": "Tools", "confidence": 1}\n```'
    assert client.ask_json(MESSAGES, SCHEMA).data["category"] == "Tools"
    # Nothing malformed was cached: the failed questions are asked again.
    llm_server.responder = lambda body: {"category": "Garden", "confidence": 0.1}
    assert client.ask_json(MESSAGES[:1], SCHEMA).data["category"] == "Garden"


def test_http_errors_and_timeouts_are_classified(llm_server: LLMServer, tmp_path: Path) -> None:
    llm_server.fail_status = 503
    with pytest.raises(LLMHTTPError, match="HTTP 503") as caught:
        _client(llm_server, tmp_path).ask_json(MESSAGES, SCHEMA)
    assert caught.value.status == 503 and caught.value.transient
    llm_server.fail_status = 400
    with pytest.raises(LLMHTTPError) as caught:
        _client(llm_server, tmp_path).ask_json(MESSAGES, SCHEMA)
    assert not caught.value.transient
    llm_server.fail_status = None
    llm_server.delay = 5.0
    with pytest.raises(LLMTimeout, match="within 0.3s") as timeout:
        _client(llm_server, tmp_path, timeout=0.3).ask_json(MESSAGES, SCHEMA)
    assert timeout.value.transient
    assert len(llm_server.chat_requests) == 3  # no hidden retries


def test_settings_come_from_the_environment_and_hide_the_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(LLMNotConfigured, match="SKUFLOW_LLM_BASE_URL"):
        LLMClient(LLMSettings()).ask_json(MESSAGES, SCHEMA)
    monkeypatch.setenv("SKUFLOW_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("SKUFLOW_LLM_MODEL", "m")
    monkeypatch.setenv("SKUFLOW_LLM_API_KEY", "sk-do-not-print")
    settings = LLMSettings()
    assert settings.configured and settings.model == "m"
    assert "sk-do-not-print" not in repr(settings) + str(settings.model_dump())
    with pytest.raises(LLMHTTPError, match="cannot reach") as caught:
        LLMClient(settings.model_copy(update={"cache_dir": tmp_path})).ask_json(MESSAGES, SCHEMA)
    assert caught.value.status is None and caught.value.transient


def test_server_embeddings_are_deterministic(llm_server: LLMServer) -> None:
    import openai

    client = openai.OpenAI(base_url=llm_server.base_url, api_key="x")
    first = client.embeddings.create(model="e", input=["drill", "hose", "drill"])
    vectors = [d.embedding for d in first.data]
    assert vectors[0] == vectors[2] != vectors[1]
    assert len(vectors[0]) == 16
