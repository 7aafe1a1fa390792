"""The LLM cascade against the local chat-completions server: only unsure records are sent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from llm.client import LLMClient, LLMSettings
from taxonomy.cascade import LLM_MAX_CONFIDENCE, LLMCascade
from taxonomy.importers import load_paths
from taxonomy.model import Taxonomy
from taxonomy.supervised import SupervisedClassifier, train_supervised
from taxonomy.text import join_text
from tests.conftest import SHARED_DATA, shared_path
from tests.llm_server import LLMServer, RecordedRequest

MWPD = SHARED_DATA / "products" / "mwpd2020" / "mwpd2020_train_validation.csv"


@pytest.fixture(scope="module")
def setup() -> tuple[SupervisedClassifier, Taxonomy, list[str]]:
    frame = pd.read_csv(shared_path(MWPD), dtype=str, keep_default_na=False).sample(
        n=1000, random_state=3
    )
    texts = (frame["Name"] + " " + frame["Description"].str[:300]).tolist()
    labels = frame["category_path"].tolist()
    taxonomy = load_paths(labels)
    model = train_supervised(texts[:800], labels[:800], taxonomy, seed=0)
    return model, taxonomy, texts[800:]


def _second_candidate(request: RecordedRequest) -> dict:
    options = request.schema["properties"]["category"]["enum"]
    return {"category": options[1], "confidence": 0.99}


def test_only_records_below_the_threshold_reach_the_llm(
    setup: tuple, llm_server: LLMServer, tmp_path: Path
) -> None:
    model, taxonomy, texts = setup
    llm_server.responder = lambda body: _second_candidate(
        RecordedRequest("/v1/chat/completions", body, {})
    )
    client = LLMClient(
        LLMSettings(base_url=llm_server.base_url, model="judge", cache_dir=tmp_path / "cache")
    )
    cascade = LLMCascade(model, taxonomy, client, below=0.9, k=4)
    plain = model.predict(texts)
    unsure = [i for i, p in enumerate(plain) if p.confidence < 0.9]
    assert 0 < len(unsure) < len(texts)  # both kinds are present in the sample

    result = cascade.predict(texts)

    asked = [r.user_text for r in llm_server.chat_requests]
    assert len(asked) == len({texts[i] for i in unsure})
    assert all(any(join_text(texts[i])[:200] in a for a in asked) for i in unsure)
    sure = [i for i in range(len(texts)) if i not in set(unsure)]
    assert all(result[i] == plain[i] for i in sure)  # untouched, not even asked about
    candidates = model.top_k([texts[i] for i in unsure], 4)
    for i, options in zip(unsure, candidates, strict=True):
        assert result[i].node_id == options[1][0]  # the LLM's pick among the candidates
        assert result[i].method == "llm"
        assert result[i].confidence <= LLM_MAX_CONFIDENCE  # never auto-applies
    assert cascade.usage.asked == len(asked) and cascade.usage.credits > 0

    # Asking again is free: every answer comes from the cache.
    again = LLMCascade(model, taxonomy, client, below=0.9, k=4)
    assert again.predict(texts) == result
    assert len(llm_server.chat_requests) == len(asked)
    assert again.usage.cached == again.usage.asked and again.usage.credits == 0


def test_a_failing_llm_leaves_the_classifier_answer(
    setup: tuple, llm_server: LLMServer, tmp_path: Path
) -> None:
    model, taxonomy, texts = setup
    llm_server.fail_status = 500
    client = LLMClient(
        LLMSettings(base_url=llm_server.base_url, model="judge", cache_dir=tmp_path / "c")
    )
    cascade = LLMCascade(model, taxonomy, client, below=0.9)
    assert cascade.predict(texts[:40]) == model.predict(texts[:40])
    below = np.array([p.confidence < 0.9 for p in model.predict(texts[:40])])
    assert cascade.usage.failed == len({t for t, b in zip(texts[:40], below, strict=True) if b})
