"""The LLM provider against the local chat-completions server: quoted values only; malformed
JSON, timeouts and HTTP errors flag the item and invent nothing."""

from __future__ import annotations

from typing import Any

from catalog.schema import Thresholds
from enrichment.engine import EnrichOptions, enrich_items
from enrichment.output_schema import OutputSchema
from llm.client import LLMSettings
from tests.llm_server import LLMServer

SCHEMA = OutputSchema.parse(
    [
        {"name": "material", "type": "string", "description": "Main material"},
        {"name": "max_temperature", "type": "number", "unit": "°C", "description": "Max temp"},
    ]
)
ITEM = {"sku": "G-1", "title": "Work glove", "description": "Nitrile coated glove, up to 80 °C"}


def options(server: LLMServer, **settings: Any) -> EnrichOptions:
    llm = LLMSettings(base_url=server.base_url, model="test-model", **settings)
    return EnrichOptions(providers=("llm",), llm=llm, web_search=False)


def answer(*fields: dict[str, Any]) -> Any:
    """A responder stating `fields` ({field, value, evidence, quote}, of `item1` unless an
    `item` is given); every other field of every item the request asks about is answered
    null, as a model finding nothing would."""

    def respond(body: dict[str, Any]) -> Any:
        asked = body["response_format"]["json_schema"]["schema"]["properties"]
        out = {
            key: {
                name: {"value": None, "evidence": key, "quote": ""} for name in spec["properties"]
            }
            for key, spec in asked.items()
        }
        for f in fields:
            out[f.get("item", "item1")][f["field"]] = {
                k: f[k] for k in ("value", "evidence", "quote")
            }
        return out

    return respond


def test_quoted_values_are_kept_with_the_quote_as_explanation(llm_server: LLMServer) -> None:
    llm_server.responder = answer(
        {"field": "material", "value": "Nitrile", "evidence": "item1", "quote": "Nitrile coated"},
        {"field": "max_temperature", "value": "80 °C", "evidence": "item1", "quote": "up to 80 °C"},
    )
    [result] = enrich_items([ITEM], SCHEMA, options(llm_server))
    assert result.values == {"material": "Nitrile", "max_temperature": 80.0}
    assert result.sources == {"material": ["input"], "max_temperature": ["input"]}
    assert '"Nitrile coated"' in result.explanations["material"]
    assert result.decisions["material"] == "review"  # an LLM alone never auto-applies


def test_the_prompt_carries_only_the_evidence_and_asks_for_structured_output(
    llm_server: LLMServer,
) -> None:
    llm_server.responder = answer()
    enrich_items([ITEM], SCHEMA, options(llm_server))
    [request] = llm_server.chat_requests
    assert list(request.schema["properties"]) == ["item1"]
    asked = request.schema["properties"]["item1"]["properties"]
    assert list(asked) == ["material", "max_temperature"]
    assert asked["material"]["required"] == ["value", "evidence", "quote"]
    assert asked["material"]["properties"]["evidence"]["enum"] == ["item1"]
    assert asked["material"]["description"].startswith("Main material (string).")
    # a quantity is asked as written (the quote must hold it); the schema converts its unit
    assert asked["max_temperature"]["properties"]["value"]["type"] == ["string", "null"]
    assert '<evidence id="item1">' in request.user_text
    assert "Nitrile coated glove" in request.user_text
    assert '<evidence id="page' not in request.user_text


def test_values_whose_quote_is_not_in_the_evidence_are_rejected(llm_server: LLMServer) -> None:
    llm_server.responder = answer(
        {"field": "material", "value": "Kevlar", "evidence": "item1", "quote": "Kevlar lined"},
        {
            "field": "max_temperature",
            "value": "120 °C",
            "evidence": "item1",
            "quote": "up to 80 °C",
        },
    )
    [result] = enrich_items([ITEM], SCHEMA, options(llm_server))
    assert result.values == {}
    assert any("material = 'Kevlar' not found in evidence" in f for f in result.flags)
    assert any("max_temperature = '120 °C' not in its quote" in f for f in result.flags)
    assert result.flag_record


def test_malformed_json_flags_the_item_and_invents_nothing(llm_server: LLMServer) -> None:
    llm_server.malformed = True
    [result] = enrich_items([ITEM], SCHEMA, options(llm_server))
    assert result.values == {} and result.sources == {}
    assert any(f.startswith("llm_failed:") and "not JSON" in f for f in result.flags)
    assert result.flag_record


def test_a_timeout_flags_the_item_and_invents_nothing(llm_server: LLMServer) -> None:
    llm_server.delay = 5.0
    [result] = enrich_items([ITEM], SCHEMA, options(llm_server, timeout=0.5))
    assert result.values == {}
    assert any(f.startswith("llm_failed:") and "did not answer" in f for f in result.flags)


def test_an_answer_not_matching_the_schema_is_malformed(llm_server: LLMServer) -> None:
    llm_server.responder = lambda body: {"material": {"value": "x"}}
    [result] = enrich_items([ITEM], SCHEMA, options(llm_server))
    assert result.values == {}
    assert any("does not match the schema" in f for f in result.flags)


def test_the_llm_is_off_by_default(llm_server: LLMServer) -> None:
    [result] = enrich_items([ITEM], SCHEMA, EnrichOptions(web_search=False))
    assert llm_server.chat_requests == []
    assert "material" not in result.values


def test_fields_settled_by_an_earlier_provider_are_not_asked_of_the_llm(
    llm_server: LLMServer,
) -> None:
    llm_server.responder = answer(
        {"field": "material", "value": "Nitrile", "evidence": "item1", "quote": "Nitrile coated"},
    )
    opts = options(llm_server)
    opts.providers = ("record", "llm")
    [result] = enrich_items([ITEM], SCHEMA, opts)
    [request] = llm_server.chat_requests
    asked = list(request.schema["properties"]["item1"]["properties"])
    assert asked == ["material"]  # "up to 80 °C" in the description settled max_temperature
    assert result.values == {"material": "Nitrile", "max_temperature": 80.0}
    assert result.sources["max_temperature"] == ["input"]


def test_quality_is_scored_by_the_llm_when_configured(llm_server: LLMServer) -> None:
    def responder(body: dict[str, Any]) -> Any:
        if body["response_format"]["json_schema"]["name"] == "quality":
            return {"score": 4, "explanation": "good", "issues": [], "suggestions": ["add size"]}
        return answer()(body)

    llm_server.responder = responder
    opts = options(llm_server)
    opts.quality_prompt = "Is the glove listing complete?"
    [result] = enrich_items([ITEM], SCHEMA, opts)
    assert result.quality is not None
    assert (result.quality.score, result.quality.suggestions) == (4, ["add size"])
    quality_request = llm_server.chat_requests[-1]
    assert "Is the glove listing complete?" in quality_request.user_text


def test_a_failing_quality_llm_falls_back_to_the_heuristic(llm_server: LLMServer) -> None:
    llm_server.malformed = True
    opts = options(llm_server)
    opts.quality_prompt = "complete?"
    [result] = enrich_items([ITEM], SCHEMA, opts)
    assert result.quality is not None and result.quality.explanation.startswith("heuristic")
    assert any(f.startswith("quality_llm_failed") for f in result.flags)


def test_values_below_reject_are_neither_written_nor_conflicts(llm_server: LLMServer) -> None:
    llm_server.responder = answer(
        {"field": "material", "value": "Nitrile", "evidence": "item1", "quote": "Nitrile coated"},
        {
            "item": "item2",
            "field": "material",
            "value": "Nitrile",
            "evidence": "item2",
            "quote": "Nitrile coated",
        },
    )
    opts = options(llm_server)
    opts.thresholds = Thresholds(auto_apply=0.95, reject=0.7)  # an LLM alone is worth 0.6
    [new, held] = enrich_items([ITEM, {**ITEM, "material": "Latex"}], SCHEMA, opts)
    for result in (new, held):
        assert "material" not in result.values and result.conflicts == []
        assert result.decisions["material"] == "rejected"
    assert held.after_data()["material"] == "Latex"
