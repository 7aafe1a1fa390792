"""One learned extractor per attribute, used as one: what a stored catalogue trains.

In a labelled CSV an empty cell means "not in this record", so one model tagging every
attribute at once learns from every row. In a catalogue an empty value means *unknown*: a
record that has its colour but no brand yet still names its brand in its title. Trained as
one model, such a record would teach that the brand's words are not a brand. So the store
trains each attribute on the records that have it filled (the issue's "records that have the
attribute filled"), each calibrated on its own held-out folds, and this set runs them
together with the interface of one `LearnedExtractor`.

Saved as a small JSON manifest naming each attribute's model file (files named by their data
hash, so an unchanged attribute reuses its model when another one's labels change).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from enrichment.learned.model import ExtractedValue, LearnedExtractor, ModelFileError

MANIFEST_FORMAT = 1


class ExtractorSet:
    """Per-attribute extractors behind `LearnedExtractor`'s predicting interface."""

    def __init__(self, models: Mapping[str, LearnedExtractor]) -> None:
        if not models:
            raise ValueError("an extractor set needs at least one model")
        self.models = dict(models)
        first = next(iter(self.models.values()))
        self.text_fields = list(first.text_fields)
        self.group_field = first.group_field
        self.attributes = list(self.models)
        self.min_confidence = min(m.min_confidence for m in self.models.values())

    @property
    def name(self) -> str:
        return "+".join(m.name for m in self.models.values())

    def predict(
        self,
        texts: Sequence[Mapping[str, str | None]],
        groups: Sequence[str | None] | None = None,
        *,
        attributes: Sequence[str] | None = None,
        min_confidence: float | None = None,
    ) -> list[list[ExtractedValue]]:
        """Each attribute's model over the records; per record, the values of all of them."""
        wanted = set(attributes) if attributes is not None else None
        out: list[list[ExtractedValue]] = [[] for _ in texts]
        for attribute, model in self.models.items():
            if wanted is not None and attribute not in wanted:
                continue
            found = model.predict(
                texts, groups, attributes=[attribute], min_confidence=min_confidence
            )
            for values, more in zip(out, found, strict=True):
                values.extend(more)
        return out

    def save(self, path: Path, files: Mapping[str, Path]) -> Path:
        """Write the manifest naming each attribute's (already saved) model file."""
        manifest = {
            "format": MANIFEST_FORMAT,
            "models": {a: files[a].name for a in self.models},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(manifest, sort_keys=True, indent=1), encoding="utf-8")
        temporary.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> ExtractorSet:
        """Open a manifest and its models (beside it).

        Raises:
            ModelFileError: not a manifest of this format, or a model it names is missing.
        """
        path = Path(path)
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelFileError(f"{path}: no such extractor set") from None
        except json.JSONDecodeError as exc:
            raise ModelFileError(f"{path}: not an extractor set ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
            raise ModelFileError(f"{path}: not an extractor set of format {MANIFEST_FORMAT}")
        return cls(
            {a: LearnedExtractor.load(path.parent / name) for a, name in manifest["models"].items()}
        )
