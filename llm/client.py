"""The one OpenAI-compatible LLM client skuflow uses (classification cascade, enrichment).

Every call asks for a structured JSON answer against a JSON schema, checks the answer against
that schema, and returns it with the tokens it cost. Answers are cached on disk by a hash of
(model, messages, schema), so asking the same question twice is free and re-running a flow
does not pay again. Errors are sorted where they enter: timeouts, HTTP failures and answers
that are not the JSON asked for each raise their own `LLMError`, and `transient` tells a retry
policy whether trying again can help.

The `openai` package is imported lazily and lives in the `llm` extra; nothing here runs unless
a caller turns an LLM feature on.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from catalog.errors import SkuflowError
from catalog.settings import SkuflowSettings, read_settings

TOKENS_PER_CREDIT = 1000
"""What an LLM costs in the credits a run records: one credit per thousand tokens."""

Message = dict[str, str]
"""A chat message: {"role": "system" | "user" | "assistant", "content": "..."}."""

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


class LLMError(SkuflowError):
    """An LLM call failed. `transient` (timeouts, HTTP 429 and 5xx, no connection) says whether
    the same call may succeed later; the task retry policy retries exactly those."""


class LLMNotConfigured(LLMError):
    """No endpoint or model was given: an LLM feature was turned on without saying where to go."""


class LLMTimeout(LLMError):
    """The endpoint did not answer within the timeout."""

    transient = True


class LLMHTTPError(LLMError):
    """The endpoint answered with an HTTP error (or could not be reached: status None)."""

    def __init__(self, message: str, *, status: int | None) -> None:
        super().__init__(message)
        self.status = status
        self.transient = status is None or status == 429 or status >= 500


class LLMMalformedAnswer(LLMError):
    """The answer was not JSON, or not JSON matching the schema asked for."""

    def __init__(self, message: str, *, content: str) -> None:
        super().__init__(message)
        self.content = content


class LLMSettings(SkuflowSettings):
    """Where the LLM is and how to call it, from `SKUFLOW_LLM_*` variables or given explicitly
    (e.g. from a Prefect block). The key is a secret: it is never logged or shown in repr."""

    model_config = SettingsConfigDict(env_prefix="SKUFLOW_LLM_", extra="ignore")

    base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1."
    )
    model: str | None = Field(None, description="Model name sent with every request.")
    api_key: SecretStr = Field(
        SecretStr("not-needed"), description="API key (local servers usually ignore it)."
    )
    timeout: float = Field(30.0, gt=0, description="Seconds to wait for one answer.")
    max_tokens: int = Field(512, ge=1, description="Upper bound on tokens in one answer.")
    response_format: Literal["json_schema", "json_object"] = Field(
        "json_schema",
        description="How to ask for JSON: json_schema (OpenAI, vLLM) or json_object (llama.cpp).",
    )
    cache_dir: Path | None = Field(
        None, description="Answer cache directory; SKUFLOW_HOME/cache/llm when unset."
    )

    @property
    def configured(self) -> bool:
        return bool(self.base_url and self.model)


@dataclass(frozen=True)
class Usage:
    """Tokens one call consumed; a cached answer consumed none."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class LLMAnswer:
    """A parsed, schema-checked answer, what it cost, and whether it came from the cache."""

    data: Any
    usage: Usage
    model: str
    cached: bool


class AnswerCache:
    """Answers on disk, one JSON file per content hash. Writes are atomic (temp file + rename),
    so two processes asking at once at worst both pay once."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @staticmethod
    def key(model: str, messages: list[Message], schema: dict[str, Any]) -> str:
        payload = json.dumps([model, messages, schema], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()

    def get(self, key: str) -> Any | None:
        path = self._path(key)
        try:
            return json.loads(path.read_text(encoding="utf-8"))["data"]
        except (OSError, ValueError, KeyError):
            return None

    def put(self, key: str, data: Any) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"data": data}, handle, ensure_ascii=False)
        os.replace(temp, path)

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"


class LLMClient:
    """Sends chat messages to an OpenAI-compatible endpoint and returns schema-checked JSON.

    The underlying `openai.OpenAI` client is made on first use and kept (one connection pool);
    `close()` or the context manager releases it.
    """

    def __init__(self, settings: LLMSettings | None = None, *, cache: bool = True) -> None:
        self.settings = settings or read_settings(LLMSettings)
        self._cache = AnswerCache(self._cache_dir()) if cache else None
        self._client: Any = None

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def ask_json(
        self, messages: list[Message], schema: dict[str, Any], *, schema_name: str = "answer"
    ) -> LLMAnswer:
        """Ask for an answer matching `schema` (a JSON schema) and return it parsed.

        Raises:
            LLMNotConfigured: no base URL or model.
            LLMTimeout: no answer within `settings.timeout`.
            LLMHTTPError: the endpoint refused or failed (`status` says how).
            LLMMalformedAnswer: the content is not JSON or does not match the schema.
        """
        if not self.settings.configured:
            raise LLMNotConfigured(
                "no LLM configured: set SKUFLOW_LLM_BASE_URL and SKUFLOW_LLM_MODEL "
                "(or pass LLMSettings)"
            )
        model = str(self.settings.model)
        key = AnswerCache.key(model, messages, schema)
        if self._cache is not None:
            hit = self._cache.get(key)
            if hit is not None:
                return LLMAnswer(data=hit, usage=Usage(), model=model, cached=True)
        response = self._create(model, messages, schema, schema_name)
        content = (response.choices[0].message.content or "") if response.choices else ""
        data = parse_answer(content, schema)
        usage = getattr(response, "usage", None)
        spent = Usage(
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        )
        if self._cache is not None:
            self._cache.put(key, data)
        return LLMAnswer(data=data, usage=spent, model=model, cached=False)

    def _create(
        self, model: str, messages: list[Message], schema: dict[str, Any], schema_name: str
    ) -> Any:
        import openai

        if self.settings.response_format == "json_schema":
            response_format: dict[str, Any] = {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": schema, "strict": True},
            }
        else:
            response_format = {"type": "json_object", "schema": schema}
        try:
            return self._openai().chat.completions.create(
                model=model,
                messages=messages,
                response_format=response_format,
                max_tokens=self.settings.max_tokens,
                temperature=0,
            )
        except openai.APITimeoutError:
            raise LLMTimeout(
                f"LLM at {self.settings.base_url} did not answer within {self.settings.timeout}s"
            ) from None
        except openai.APIStatusError as exc:
            raise LLMHTTPError(
                f"LLM at {self.settings.base_url} answered HTTP {exc.status_code}: "
                f"{_clip(str(exc.message))}",
                status=exc.status_code,
            ) from None
        except openai.APIConnectionError as exc:
            raise LLMHTTPError(
                f"cannot reach LLM at {self.settings.base_url}: {exc}", status=None
            ) from None

    def _openai(self) -> Any:
        if self._client is None:
            try:
                import openai
            except ImportError:  # pragma: no cover - depends on the install
                raise LLMNotConfigured(
                    "the LLM client needs the 'llm' extra: pip install 'skuflow[llm]'"
                ) from None
            self._client = openai.OpenAI(
                base_url=self.settings.base_url,
                api_key=self.settings.api_key.get_secret_value(),
                timeout=self.settings.timeout,
                max_retries=0,  # retries belong to the task policy, which sees `transient`
            )
        return self._client

    def _cache_dir(self) -> Path:
        if self.settings.cache_dir is not None:
            return self.settings.cache_dir
        from catalog.settings import get_settings

        return get_settings().home / "cache" / "llm"


def parse_answer(content: str, schema: dict[str, Any]) -> Any:
    """The JSON in `content` (a ```json fence is tolerated), checked against `schema`.

    Raises:
        LLMMalformedAnswer: not JSON, or not matching the schema (the message says where).
    """
    import jsonschema

    fenced = _FENCE.match(content)
    text = fenced.group(1) if fenced else content
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise LLMMalformedAnswer(
            f"LLM answer is not JSON ({exc}): {_clip(content)!r}", content=content
        ) from None
    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise LLMMalformedAnswer(
            f"LLM answer does not match the schema at {where}: {exc.message}", content=content
        ) from None
    return data


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
