"""LLM extraction as the literature found best, against the local chat-completions server:
demonstrations chosen by similarity from the catalogue's labelled records, the schema with
descriptions and the catalogue's example values, several items per request, answers cached,
tokens counted per item and recorded as the run's credits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from catalog.db import session_scope
from catalog.models import Run
from enrichment.config import EnrichConfig
from enrichment.demonstrations import load_pool, pool_from_labelled
from enrichment.engine import EnrichOptions, enrich_items
from enrichment.output_schema import OutputSchema
from enrichment.stage import enrich_stored_records, prepare_enrichment, record_llm_credits
from llm.client import LLMSettings
from tests.enrichment.learned_data import records
from tests.enrichment.test_learned_provider import _catalogue
from tests.llm_server import LLMServer

OUTPUT = OutputSchema.parse(
    [{"name": "Brand", "description": "Brand of the product"}, {"name": "Color"}]
)
COFFEE = {"sku": "n1", "title": "Quillon Espresso Beans, Dark Roast, 1kg bag"}
SHOE = {"sku": "n2", "title": "Quillon Women's Trail Sneaker - Grey - Size 7 US"}


def first_word_brand(body: dict[str, Any]) -> Any:
    """A deterministic 'model': the first word of each asked item's title is its brand,
    quoted from that item's evidence."""
    asked = body["response_format"]["json_schema"]["schema"]["properties"]
    question = body["messages"][-1]["content"]
    out = {}
    for key, spec in asked.items():
        block = question.split(f'<evidence id="{key}">\n', 1)[1].split("\n</evidence>", 1)[0]
        title = json.loads(block).get("title", "")
        brand = title.split()[0] if title else None
        out[key] = {
            name: {"value": None, "evidence": key, "quote": ""} for name in spec["properties"]
        }
        out[key]["Brand"] = {"value": brand, "evidence": key, "quote": brand or ""}
    return out


def llm_options(server: LLMServer, **extra: Any) -> EnrichOptions:
    settings = LLMSettings(base_url=server.base_url, model="test-model")
    return EnrichOptions(providers=("llm",), llm=settings, web_search=False, **extra)


def demonstrations_of(request: Any) -> list[tuple[str, dict[str, Any]]]:
    """(demonstration title, its answer) pairs sent before the question."""
    messages = request.body["messages"][1:-1]
    out = []
    for asked, answered in zip(messages[0::2], messages[1::2], strict=True):
        block = asked["content"].split('<evidence id="item1">\n', 1)[1].split("\n</evidence>")[0]
        out.append((json.loads(block)["title"], json.loads(answered["content"])["item1"]))
    return out


def test_demonstrations_are_the_most_similar_labelled_records(llm_server: LLMServer) -> None:
    pool = pool_from_labelled(records(72))
    llm_server.responder = first_word_brand
    options = llm_options(llm_server, demonstrations=pool, llm_batch_size=1)
    coffee, shoe = enrich_items([COFFEE, SHOE], OUTPUT, options)

    first, second = llm_server.chat_requests
    coffee_demos, shoe_demos = demonstrations_of(first), demonstrations_of(second)
    assert len(coffee_demos) == len(shoe_demos) == 10
    coffees = {r.texts["title"] for r in records(72) if r.group == "Coffee"}
    assert all(title in coffees for title, _ in coffee_demos)  # coffee items are shown coffee
    assert not any(title in coffees for title, _ in shoe_demos)  # and shoes are shown shoes
    assert [t for t, _ in coffee_demos] == [d.text for d in pool.nearest([COFFEE["title"]], 10)]
    # each demonstration's answer is its labelled value, quoted verbatim from its text
    for title, answer in coffee_demos:
        brand = answer["Brand"]
        assert brand["value"] == brand["quote"] and brand["value"] in title
    # the field descriptions carry the catalogue's most frequent values as examples
    described = first.schema["properties"]["item1"]["properties"]["Brand"]["description"]
    assert described.startswith("Brand of the product (string). Examples: ")
    assert all(f'"{b}"' in described for b in pool.examples("Brand", 5))
    assert coffee.values["Brand"] == shoe.values["Brand"] == "Quillon"  # an unseen brand
    assert coffee.sources["Brand"] == ["input"] and coffee.decisions["Brand"] == "review"


def test_several_items_per_request_cached_with_tokens_per_item(llm_server: LLMServer) -> None:
    llm_server.responder = first_word_brand
    items = [{"sku": f"s{i}", "title": t.texts["title"]} for i, t in enumerate(records(7))]
    results = enrich_items(items, OUTPUT, llm_options(llm_server, llm_batch_size=5))
    first, second = llm_server.chat_requests
    assert list(first.schema["properties"]) == [f"item{n}" for n in range(1, 6)]
    assert list(second.schema["properties"]) == ["item1", "item2"]
    assert all(
        r.values["Brand"] == i["title"].split()[0] for r, i in zip(results, items, strict=True)
    )
    spent = sum(r.tokens for r in results)
    assert spent > 0 and all(r.tokens > 0 for r in results)
    again = enrich_items(items, OUTPUT, llm_options(llm_server, llm_batch_size=5))
    assert len(llm_server.chat_requests) == 2  # same questions: answered from the cache
    assert [r.values for r in again] == [r.values for r in results]
    assert sum(r.tokens for r in again) == 0  # a cached answer costs nothing


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_stage_shows_the_llm_the_catalogues_records_and_records_tokens_as_credits(
    store_url: str, tmp_path: Path, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKUFLOW_LLM_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("SKUFLOW_LLM_MODEL", "test-model")
    llm_server.responder = first_word_brand
    with session_scope(store_url) as session:
        org_id, catalog_id, stored = _catalogue(session)
        prepared = prepare_enrichment(
            session,
            catalog_id=catalog_id,
            config=EnrichConfig(providers=["llm"], llm=True, web_search=False, learned=False),
            output_schema=[{"name": "Brand"}, {"name": "Color"}],
            models_dir=tmp_path,
        )
        assert prepared.config.demonstrations_path is not None, prepared.notes
        run = Run(organization_id=org_id, catalog_id=catalog_id, operation="enrich")
        session.add(run)
        session.flush()
        with prepared.options() as options:
            outcome = enrich_stored_records(
                session,
                prepared=prepared,
                options=options,
                record_ids=[stored["r2"].id],
                run_id=run.id,
            )
        record_llm_credits(session, run_id=run.id, tokens=outcome.counts["llm_tokens"])
        assert outcome.results[stored["r2"].id].values["Brand"] == "Zorvex"
        [request] = llm_server.chat_requests
        shown = [title for title, _ in demonstrations_of(request)]
        pool = load_pool(prepared.config.demonstrations_path)
        assert shown == [d.text for d in pool.nearest([stored["r2"].values["title"]], 10)]
        assert outcome.counts["llm_tokens"] > 0
        credits = session.scalar(select(Run.credits).where(Run.id == run.id))
        assert credits == pytest.approx(outcome.counts["llm_tokens"] / 1000)
