"""Flow `classify` over a stored catalogue: changes carry the model's name and version, the LLM
cascade (local server) sees only unsure records and its tokens become the run's credits."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from catalog.db import session_scope
from catalog.models import Change, Run
from catalog.records import upsert_records
from catalog.repository import get_or_create_organization, upsert_catalog
from catalog.schema import CatalogSchema
from flows.classify import classify
from tests.conftest import SHARED_DATA, shared_path
from tests.llm_server import LLMServer

MWPD = SHARED_DATA / "products" / "mwpd2020" / "mwpd2020_train_validation.csv"
pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def catalogue(tmp_path: Path) -> tuple[str, str, pd.DataFrame]:
    schema_file = tmp_path / "offers.yaml"
    schema_file.write_text(
        "name: offers\nid: sku\ntext: [title, description]\nattributes:\n"
        "  - {name: sku, type: text, required: true}\n"
        "  - {name: title, type: text}\n"
        "  - {name: description, type: text}\n"
        "  - {name: category, type: text, derive: classify}\n",
        encoding="utf-8",
    )
    offers = pd.read_csv(shared_path(MWPD), dtype=str, keep_default_na=False).sample(
        n=500, random_state=7
    )
    frame = pd.DataFrame(
        {
            "sku": offers["ID"].to_numpy(),
            "title": offers["Name"].to_numpy(),
            "description": offers["Description"].str[:400].to_numpy(),
            "category": offers["category_path"].to_numpy(),
        }
    )
    frame.loc[400:, "category"] = None  # the last 100 offers are unlabelled
    frame.index = pd.Index(frame["sku"], name="external_id")
    taxonomy = tmp_path / "gs1.txt"
    taxonomy.write_text("\n".join(sorted(set(offers["category_path"]))), encoding="utf-8")
    schema = CatalogSchema.from_yaml(schema_file)
    with session_scope() as session:
        org = get_or_create_organization(session, name="default")
        catalog = upsert_catalog(session, organization=org, schema=schema)
        upsert_records(
            session,
            catalog_id=catalog.id,
            frame=frame,
            hashes=pd.Series([f"h{i}" for i in range(len(frame))], index=frame.index),
            source="offers.csv",
        )
    return str(schema_file), str(taxonomy), frame


def test_flow_records_model_provenance_and_llm_credits_only_for_unsure_records(
    catalogue: tuple[str, str, pd.DataFrame],
    llm_server: LLMServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    schema_file, taxonomy, frame = catalogue
    monkeypatch.setenv("SKUFLOW_LLM_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("SKUFLOW_LLM_MODEL", "judge")
    # The LLM always agrees with the classifier's own first candidate.
    llm_server.responder = lambda body: {
        "category": body["response_format"]["json_schema"]["schema"]["properties"]["category"][
            "enum"
        ][0],
        "confidence": 0.7,
    }

    result = classify(catalog=schema_file, taxonomy=taxonomy, llm=True)

    with session_scope() as session:
        changes = session.scalars(sa.select(Change).where(Change.operation == "classify")).all()
        run = session.get(Run, result["run_id"])
        credits = run.credits
    assert len(changes) == 100  # every unlabelled offer, none of the labelled ones
    assert all(c.model and c.model.startswith("tfidf-hierarchical-svm+llm:cas-") for c in changes)
    sent = {r.user_text for r in llm_server.chat_requests}
    unsure = [c for c in changes if c.method == "llm"]
    sure = [c for c in changes if c.method == "supervised"]
    assert unsure and sure
    assert all(c.confidence < 0.9 for c in unsure) and all(c.confidence >= 0.9 for c in sure)
    assert len(sent) == len(unsure) == result["llm_asked"]
    assert credits == pytest.approx(result["llm_tokens"] / 1000) and credits > 0

    again = classify(catalog=schema_file, taxonomy=taxonomy, llm=True)
    assert again.get("llm_asked", 0) == 0 and len(llm_server.chat_requests) == len(sent)
