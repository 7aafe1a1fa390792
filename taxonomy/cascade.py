"""The LLM cascade: a second opinion from an LLM for the records the classifier is unsure of.

Off by default. When on, only predictions below `below` (the auto-apply threshold: what would
otherwise wait for a person) go to the LLM, with the classifier's top-k candidate categories;
the LLM must answer with one of them (or "none") as structured JSON. Answers are cached by
content hash in `llm.client`, and the tokens spent are totalled so the caller can record them
as credits.

An LLM's stated confidence is not calibrated, so a cascade answer never auto-applies: it is
capped at `LLM_MAX_CONFIDENCE`, below the default auto-apply threshold, and goes to review
with a better suggestion than the classifier had. If the call fails, the classifier's own
prediction stands.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from llm.client import TOKENS_PER_CREDIT, LLMClient, LLMError, Usage
from taxonomy.model import Taxonomy
from taxonomy.prediction import Candidates, Classifier, Prediction
from taxonomy.text import Text, join_text

LLM_MAX_CONFIDENCE = 0.85
NONE = "none of these"

_log = logging.getLogger(__name__)
_SYSTEM = (
    "You classify products into a category taxonomy. Choose the one candidate category that "
    f"fits the product best, or '{NONE}' if none fits. Answer with JSON only."
)


@dataclass
class CascadeUsage:
    """What the cascade did and spent over its lifetime."""

    asked: int = 0
    cached: int = 0
    failed: int = 0
    changed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def credits(self) -> float:
        return (self.prompt_tokens + self.completion_tokens) / TOKENS_PER_CREDIT

    def add(self, usage: Usage, *, cached: bool) -> None:
        self.asked += 1
        self.cached += int(cached)
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens


@dataclass(eq=False)
class LLMCascade:
    """A classifier whose unsure predictions are re-decided by an LLM among its top-k."""

    classifier: Classifier
    taxonomy: Taxonomy
    client: LLMClient
    below: float = 0.9
    k: int = 5
    usage: CascadeUsage = field(default_factory=CascadeUsage)
    method: str = "llm"

    @property
    def name(self) -> str:
        return f"{self.classifier.name}+llm"

    @property
    def version(self) -> str:
        key = f"{self.classifier.version}|{self.client.settings.model}|{self.below}|{self.k}"
        return "cas-" + hashlib.sha256(key.encode()).hexdigest()[:16]

    def predict(self, texts: Sequence[Text]) -> list[Prediction]:
        predictions = self.classifier.predict(texts)
        unsure = [i for i, p in enumerate(predictions) if p.confidence < self.below]
        if not unsure:
            return predictions
        # Ranked over the whole batch, as predicted: the static matcher weighs close calls by
        # the batch's own category mix, which the unsure subset alone would misstate.
        ranked = self.classifier.top_k(texts, self.k)
        out = list(predictions)
        for i in unsure:
            if options := ranked[i]:
                out[i] = self._ask(texts[i], options, predictions[i])
        return out

    def top_k(self, texts: Sequence[Text], k: int = 5) -> Candidates:
        return self.classifier.top_k(texts, k)

    def _ask(self, text: Text, options: list[tuple[str, float]], base: Prediction) -> Prediction:
        paths = [self.taxonomy[node_id].path_text for node_id, _ in options]
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {
                "category": {"type": "string", "enum": [*paths, NONE]},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            },
            "required": ["category", "confidence"],
            "additionalProperties": False,
        }
        listing = "\n".join(f"- {path}" for path in paths)
        messages = [
            {"role": "system", "content": _SYSTEM},
            {
                "role": "user",
                "content": f"Product: {join_text(text)[:1500]}\n\nCandidate categories:\n{listing}",
            },
        ]
        try:
            answer = self.client.ask_json(messages, schema, schema_name="category_choice")
        except LLMError as exc:
            self.usage.failed += 1
            _log.warning("LLM cascade kept the classifier's answer: %s", exc)
            return base
        self.usage.add(answer.usage, cached=answer.cached)
        chosen = answer.data["category"]
        if chosen == NONE:
            return base
        node_id = options[paths.index(chosen)][0]
        stated = min(float(answer.data["confidence"]), LLM_MAX_CONFIDENCE)
        if node_id == base.node_id:
            return Prediction(node_id, max(base.confidence, stated), self.method)
        self.usage.changed += 1
        return Prediction(node_id, stated, self.method)
