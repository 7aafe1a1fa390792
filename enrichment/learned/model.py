"""The learned attribute extractor: train from labelled records, predict cited spans with
calibrated confidences, save and load.

Training, in order: align labels to tokens (`examples`); build the gazetteer of known values
with per-fold counts; compute every record's features with a gazetteer that leaves its own
fold out; train one CRF per fold on the other folds and tag the held-out fold (out-of-fold
values, right or wrong); fit the calibrator on those and pick the emission threshold with the
best out-of-fold micro-F1; train the final CRF on everything.

Everything is deterministic: the same records in the same order give the same model bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from catalog.collector import collector_paused
from catalog.errors import SkuflowError
from enrichment.learned.calibration import (
    Calibrator,
    CrossValidation,
    calibrator_from_json,
    calibrator_to_json,
    cross_validation,
    fit_calibrator,
)
from enrichment.learned.compiled import CompiledFeatures
from enrichment.learned.confidence import (
    ConfidenceModel,
    SpanEvidence,
    cross_fitted_scores,
    fit_confidence,
)
from enrichment.learned.examples import (
    LabelledRecord,
    SkippedValue,
    TrainingSet,
    prepare_training,
)
from enrichment.learned.features import FEATURE_FORMAT, TokenFeatures
from enrichment.learned.gazetteer import Gazetteer, merged
from enrichment.learned.tagger import CRFParams, CRFTagger, TaggedSpan, train_crf
from enrichment.learned.tokens import (
    MAX_FIELD_CHARS,
    Token,
    TokenColumns,
    columns_of,
    tokenize_columns,
    words,
)

MODEL_FORMAT = 3
"""Bump when the saved layout or the training procedure changes (part of the cache key)."""
METHOD = "learned-crf"
MIN_FOLDS = 2


class NoTrainingData(SkuflowError):
    """Nothing to learn from: no record has a value that occurs in its text."""


class ModelFileError(SkuflowError):
    """A model file that is not an extractor saved by this version."""


@dataclass(frozen=True)
class ExtractorParams:
    """Everything that shapes a model besides its data; part of its cache key."""

    crf: CRFParams = field(default_factory=CRFParams)
    folds: int = 4
    """Held-out folds for calibration and the emission threshold."""
    max_chars: int = MAX_FIELD_CHARS
    prior_strength: float = 2.0
    """Pseudo-observations at the base rate per isotonic step (see catalog.calibration)."""
    secondary: bool = True
    """Also propose, per attribute of the record's group that the best labelling leaves out,
    its most probable run in the title (see `CRFTagger.spans`)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "crf": self.crf.as_dict(),
            "folds": self.folds,
            "max_chars": self.max_chars,
            "prior_strength": self.prior_strength,
            "secondary": self.secondary,
        }


@dataclass(frozen=True)
class ExtractedValue:
    """One value found in one record's text.

    Attributes:
        attribute: The attribute it is a value of.
        value: The span's text, verbatim.
        field: The text field it was read from.
        start: Offset of the span in that field.
        end: Offset just past it.
        confidence: Calibrated probability that the value is right.
        known: How many training records had exactly this value for this attribute (0: new).
        explanation: One sentence for a reviewer.
    """

    attribute: str
    value: str
    field: str
    start: int
    end: int
    confidence: float
    known: int
    explanation: str

    @property
    def source(self) -> str:
        """Where the value is: `record:title[12:19]`."""
        return f"record:{self.field}[{self.start}:{self.end}]"


@dataclass(frozen=True)
class TrainingSummary:
    """What training used and what to expect: counts, skipped values, out-of-fold figures."""

    version: str
    counts: dict[str, int]
    skipped: list[SkippedValue]
    cross_validation: CrossValidation
    seconds: float

    def describe(self) -> str:
        cv = self.cross_validation
        return (
            f"out-of-fold micro-F1 {cv.f1:.3f} (precision {cv.precision:.3f}, recall "
            f"{cv.recall:.3f}) at confidence ≥ {cv.min_confidence:.2f}; values at ≥ 0.9: "
            f"{cv.share_at_auto:.0%} of those emitted, {cv.precision_at_auto:.3f} right"
        )


class _Candidate(NamedTuple):
    """A span proposed as a value, before its confidence (a named tuple, made positionally:
    a batch makes several a record)."""

    attribute: str
    field: str
    start: int
    end: int
    value: str
    score: float
    known: int
    left: str
    right: str
    evidence: SpanEvidence


def training_hash(
    records: Sequence[LabelledRecord], text_fields: Sequence[str], params: ExtractorParams
) -> str:
    """The model's identity: format, features, parameters, text fields and every record's
    texts, group and values in order. Changing one label changes it."""
    digest = hashlib.sha256(
        json.dumps(
            [MODEL_FORMAT, FEATURE_FORMAT, params.as_dict(), list(text_fields)], sort_keys=True
        ).encode()
    )
    for record in records:
        texts = [record.texts.get(f, "") or "" for f in text_fields]
        values = sorted((a, list(v)) for a, v in record.values.items())
        rejected = sorted((a, sorted(v)) for a, v in record.rejected.items())
        digest.update(
            json.dumps([texts, record.group, values, rejected], ensure_ascii=False).encode()
        )
        digest.update(b"\x1e")
    return digest.hexdigest()[:20]


class LearnedExtractor:
    """A trained extractor. Build it with `train_extractor`, or `LearnedExtractor.load`."""

    def __init__(
        self,
        *,
        version: str,
        text_fields: list[str],
        group_field: str | None,
        attributes: list[str],
        group_attributes: dict[str, list[str]],
        gazetteer: Gazetteer,
        tagger: CRFTagger,
        confidence: ConfidenceModel,
        calibrator: Calibrator,
        min_confidence: float,
        params: ExtractorParams,
        summary: dict[str, Any],
    ) -> None:
        self.version = version
        self.text_fields = text_fields
        self.group_field = group_field
        """The item key holding a record's group (category) when the model is used on stored
        records or engine items; None when trained without groups."""
        self.attributes = attributes
        self.group_attributes = group_attributes
        """Per group, the attributes it had values for in training (what it may be tagged
        with); a group not seen in training may be tagged with any attribute."""
        self.gazetteer = gazetteer
        self.tagger = tagger
        self.confidence = confidence
        self.calibrator = calibrator
        self.min_confidence = min_confidence
        self.params = params
        self.summary = summary
        self._compiled: CompiledFeatures | None = None
        self._compiled_for: CRFTagger | None = None
        """Feature rows of `tagger`, per token text (built on the first `predict`)."""

    @property
    def name(self) -> str:
        return f"{METHOD}-{self.version}"

    def predict(
        self,
        texts: Sequence[Mapping[str, str | None]],
        groups: Sequence[str | None] | None = None,
        *,
        attributes: Sequence[str] | None = None,
        min_confidence: float | None = None,
    ) -> list[list[ExtractedValue]]:
        """Values found in each record's text, at most one per attribute (the surest).

        Args:
            texts: Per record, text field → text; fields the model was not trained on are
                ignored, missing ones are empty.
            groups: Per record, its group (category), or None.
            attributes: Only these attributes (default: every trained one).
            min_confidence: Drop values below this (default: the model's out-of-fold best).
        """
        with collector_paused():
            return self._predict(texts, groups, attributes, min_confidence)

    def _predict(
        self,
        texts: Sequence[Mapping[str, str | None]],
        groups: Sequence[str | None] | None,
        attributes: Sequence[str] | None,
        min_confidence: float | None,
    ) -> list[list[ExtractedValue]]:
        floor = self.min_confidence if min_confidence is None else min_confidence
        wanted = set(attributes) if attributes is not None else None
        prepared: list[tuple[TokenColumns, dict[str, str], list[str] | None]] = []
        record_groups: list[str] = []
        known: list[dict[int, list[str]]] = []
        max_chars = self.params.max_chars
        matches, allowed_of = self.gazetteer.matches, self.group_attributes.get
        word_tags = self.gazetteer.word_tags
        for i, record in enumerate(texts):
            group = (groups[i] if groups is not None else None) or ""
            fields = {f: str(record.get(f) or "") for f in self.text_fields}
            columns = tokenize_columns(fields, max_chars=max_chars)
            allowed = allowed_of(group)
            lowered = list(map(str.casefold, columns.texts))
            known.append(merged(matches(lowered), word_tags(lowered)))
            record_groups.append(group)
            prepared.append((columns, fields, allowed))
        # Compiled and tagged in decoding order (each decoded batch's records consecutive),
        # read back in the given order.
        order = self.tagger.decoding_order([allowed for _, _, allowed in prepared])
        ordered = [prepared[i] for i in order]
        with _COMPILING:
            if self._compiled is None or self._compiled_for is not self.tagger:
                self._compiled_for = self.tagger
                self._compiled = CompiledFeatures(
                    self.tagger.feature_index, len(self.tagger.feature_names)
                )
            batch = self._compiled.batch(
                [p[0] for p in ordered],
                [record_groups[i] for i in order],
                [known[i] for i in order],
            )
        ordered_spans = self.tagger.spans_compiled(
            batch,
            [allowed for _, _, allowed in ordered],
            [(allowed or ()) if self.params.secondary else () for _, _, allowed in ordered],
            [columns.runs[0][1] if columns.runs else 0 for columns, _, _ in ordered],
        )
        spans: list[list[TaggedSpan]] = [[] for _ in prepared]
        for position, i in enumerate(order):
            spans[i] = ordered_spans[position]
        found: list[list[_Candidate]] = []
        for (columns, fields, allowed), record_spans in zip(prepared, spans, strict=True):
            found.append(
                [
                    c
                    for c in _candidates(columns, fields, record_spans, self.gazetteer, None)
                    if (allowed is None or c.attribute in allowed)
                    and (wanted is None or c.attribute in wanted)
                ]
            )
        flat = [c for candidates in found for c in candidates]
        confidences = iter(self._confidences(flat).tolist())
        out: list[list[ExtractedValue]] = []
        for candidates in found:
            values = []
            for candidate in candidates:
                confidence = round(next(confidences), 4)
                if confidence >= floor:
                    values.append(_value(candidate, confidence))
            out.append(values)
        return out

    def _confidences(self, candidates: Sequence[_Candidate]) -> np.ndarray:
        if not candidates:
            return np.zeros(0)
        return calibrated(self.calibrator, self.confidence.score([c.evidence for c in candidates]))

    # -- persistence ---------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the model as one zip file (same model → same bytes)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": MODEL_FORMAT,
            "feature_format": FEATURE_FORMAT,
            "version": self.version,
            "text_fields": self.text_fields,
            "group_field": self.group_field,
            "attributes": self.attributes,
            "group_attributes": self.group_attributes,
            "confidence": self.confidence.to_json(),
            "calibrator": calibrator_to_json(self.calibrator),
            "min_confidence": self.min_confidence,
            "params": self.params.as_dict(),
            "summary": self.summary,
        }
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in (
                ("meta.json", json.dumps(meta, sort_keys=True, indent=1).encode()),
                ("gazetteer.json", json.dumps(self.gazetteer.to_json()).encode()),
                ("tagger.json", json.dumps(self.tagger.to_json()).encode()),
            ):
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_bytes(buffer.getvalue())
        temporary.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> LearnedExtractor:
        """Open a model saved by `save`.

        Raises:
            ModelFileError: not a model file, or one of another format version.
        """
        path = Path(path)
        try:
            with zipfile.ZipFile(path) as archive:
                meta = json.loads(archive.read("meta.json"))
                gazetteer = Gazetteer.from_json(json.loads(archive.read("gazetteer.json")))
                tagger = CRFTagger.from_json(json.loads(archive.read("tagger.json")))
        except FileNotFoundError:
            raise ModelFileError(f"{path}: no such model file") from None
        except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as exc:
            raise ModelFileError(
                f"{path}: not a model saved by 'skuflow extract train' ({exc})"
            ) from None
        if meta.get("format") != MODEL_FORMAT or meta.get("feature_format") != FEATURE_FORMAT:
            raise ModelFileError(
                f"{path}: model format {meta.get('format')} is not {MODEL_FORMAT}; retrain it"
            )
        raw = meta["params"]
        params = ExtractorParams(
            crf=CRFParams(**raw["crf"]),
            folds=raw["folds"],
            max_chars=raw["max_chars"],
            prior_strength=raw["prior_strength"],
            secondary=raw["secondary"],
        )
        return cls(
            version=meta["version"],
            text_fields=list(meta["text_fields"]),
            group_field=meta.get("group_field"),
            attributes=list(meta["attributes"]),
            group_attributes={g: list(a) for g, a in meta["group_attributes"].items()},
            gazetteer=gazetteer,
            tagger=tagger,
            confidence=ConfidenceModel.from_json(meta["confidence"]),
            calibrator=calibrator_from_json(meta["calibrator"]),
            min_confidence=float(meta["min_confidence"]),
            params=params,
            summary=meta["summary"],
        )


_COMPILING = threading.Lock()
"""One thread at a time grows a model's per-text tables: a model is shared by the batches
of the `threads` task runner, and two threads appending rows at once would give a text
another text's row. The batch built under it is the caller's own."""


def _title_tokens(tokens: list[Token]) -> int:
    """How many tokens the first field (the title) has: where secondary spans are sought."""
    if not tokens:
        return 0
    first = tokens[0].field
    if tokens[-1].field == first:
        return len(tokens)
    # Each field's tokens are one run: the title ends where the first other field begins.
    fields = list(map(_FIELD, tokens))
    return min(fields.index(f) for f in set(fields) if f != first)


_FIELD = itemgetter(1)


def _candidates(
    tokens: TokenColumns,
    texts: Mapping[str, str],
    spans: Sequence[TaggedSpan],
    gazetteer: Gazetteer,
    leave_out: int | None,
) -> list[_Candidate]:
    """The best-scored span per attribute among the tagger's spans of one record (on its
    most likely labelling, or secondary ones read from the marginals)."""
    if not tokens.texts:
        return []
    # Each field's tokens are one run: per run, its field and first token, and where the
    # next run begins.
    runs: list[tuple[str, int, int]] = []
    begin = 0
    for name, count in tokens.runs:
        runs.append((name, begin, begin + count))
        begin += count
    single = len(runs) == 1
    # The best piece per attribute first (a later one only when strictly better, as before),
    # then a candidate for each chosen piece only: most spans lose to another of their
    # attribute, and building a candidate costs more than choosing one.
    chosen: dict[str, tuple[TaggedSpan, int, int, tuple[str, int, int]]] = {}
    for span in spans:
        first, last = span.first, span.last
        if single:
            pieces: Sequence[tuple[int, int, tuple[str, int, int]]] = ((first, last, runs[0]),)
        else:
            # A span split where it crosses from one text field into the next.
            pieces = [
                (max(first, run[1]), min(last, run[2] - 1), run)
                for run in runs
                if run[1] <= last and first < run[2]
            ]
        for piece in pieces:
            held = chosen.get(span.attribute)
            if held is None or span.score > held[0].score:
                chosen[span.attribute] = (span, *piece)
    if not chosen:
        return []
    field_index = {f: i for i, f in enumerate(texts)}
    words, starts, ends = tokens.texts, tokens.starts, tokens.ends
    n = len(words)
    counts = gazetteer.counts
    out = []
    for span, first, last, (name, field_start, _) in chosen.values():
        attribute = span.attribute
        start, end = starts[first], ends[last]
        key = tuple(map(str.casefold, words[first : last + 1]))
        if leave_out is None:
            hit = counts.get(key)
            known = hit[attribute] if hit else 0  # `Gazetteer.known`
        else:
            known = _known(gazetteer, attribute, key, leave_out)
        score = span.score
        evidence = _NEW_TUPLE(
            SpanEvidence,
            (
                attribute,
                score,
                span.mean,
                span.spill,
                known,
                last - first + 1,
                field_index.get(name, 0),
                first - field_start,
                span.secondary,
            ),
        )
        out.append(
            _NEW_TUPLE(
                _Candidate,
                (
                    attribute,
                    name,
                    start,
                    end,
                    texts[name][start:end],
                    score,
                    known,
                    words[first - 1] if first > 0 else "",
                    words[last + 1] if last + 1 < n else "",
                    evidence,
                ),
            )
        )
    return out


_NEW_TUPLE = tuple.__new__
"""A named tuple from its fields in order, without its Python-level `__new__`."""


def _known(
    gazetteer: Gazetteer, attribute: str, key: tuple[str, ...], leave_out: int | None
) -> int:
    count = gazetteer.known(attribute, key)
    if count and leave_out is not None:
        count -= gazetteer.fold_counts[leave_out].get(key, Counter()).get(attribute, 0)
    return count


def _value(candidate: _Candidate, confidence: float) -> ExtractedValue:
    """The value of a candidate, made the way `ExtractedValue(...)` makes it (the same
    fields, so the same equality, hash and repr), with its attributes set in one dict update
    instead of one `object.__setattr__` per field (a frozen dataclass's `__init__`): a batch
    makes several values a record."""
    where = f"{candidate.field}[{candidate.start}:{candidate.end}]"
    if candidate.known:
        why = f"a known {candidate.attribute} (labelled {candidate.known}× in training)"
    else:
        context = " … ".join(w for w in (candidate.left, candidate.right) if w)
        shown = f" ({context})" if context else ""
        why = f"a new value, recognised from its place in the text{shown}"
    value = _NEW_OBJECT(ExtractedValue)
    value.__dict__.update(
        attribute=candidate.attribute,
        value=candidate.value,
        field=candidate.field,
        start=candidate.start,
        end=candidate.end,
        confidence=confidence,
        known=candidate.known,
        explanation=f"{candidate.value!r} in {where} tagged as {candidate.attribute}: {why}.",
    )
    return value


_NEW_OBJECT = object.__new__


def calibrated(calibrator: Calibrator, scores: np.ndarray) -> np.ndarray:
    """Confidences for raw scores. Within the range of out-of-fold scores the calibrator was
    fitted on, its map; below the lowest one there is no evidence, and the map's flat end
    would claim the surety of the least sure value it saw — 0.99 when every out-of-fold value
    was right, even for a span unlike any of them ("pack" tagged as a brand in "pack of 12
    pairs … by ansell"). There the confidence falls off as the raw log-odds do, continuously
    and monotonically, so such a value is queued for a person instead of applied."""
    scores = np.asarray(scores, dtype=np.float64)
    out = calibrator(scores)
    lowest = float(calibrator.x[0])
    below = scores < lowest
    if below.any():
        out[below] *= _sigmoid(scores[below]) / _sigmoid(np.asarray([lowest]))[0]
    return out


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def train_extractor(
    records: Sequence[LabelledRecord],
    *,
    text_fields: Sequence[str] | None = None,
    group_field: str | None = None,
    params: ExtractorParams | None = None,
) -> tuple[LearnedExtractor, TrainingSummary]:
    """Train, calibrate on held-out folds, and return the model with what training saw.

    Args:
        records: Labelled records, in a stable order (the order is part of the model).
        text_fields: The fields to read, title first (default: those of the first record).
        group_field: Where items keep their group, for callers that hand the model whole
            items (the enrichment provider); recorded, not used in training.
        params: Training settings.

    Raises:
        NoTrainingData: no record has a value that could be placed on its text.
    """
    params = params or ExtractorParams()
    if params.folds < MIN_FOLDS:
        raise ValueError(f"folds must be at least {MIN_FOLDS}")
    started = time.perf_counter()
    fields = list(text_fields) if text_fields else list(records[0].texts) if records else []
    records = [
        LabelledRecord(
            r.id, {f: r.texts.get(f) or "" for f in fields}, r.group or "", r.values, r.rejected
        )
        for r in records
    ]
    version = training_hash(records, fields, params)
    training = prepare_training(records, folds=params.folds, max_chars=params.max_chars)
    if training.counts["values_aligned"] == 0:
        detail = training.summary()
        if training.skipped:
            detail += "; e.g. " + "; ".join(str(s) for s in training.skipped[:3])
        raise NoTrainingData(
            f"no labelled values to learn from: {detail}. Give records with at least one "
            "attribute value that appears in their text."
        )
    gazetteer = Gazetteer.build(_gazetteer_entries(training), folds=params.folds)
    features = TokenFeatures()
    xseqs = [
        features.sequence(r.tokens, r.record.group, _known_tags(gazetteer, r.tokens, r.fold))
        for r in training.records
    ]
    yseqs = [r.labels for r in training.records]
    group_attributes: dict[str, set[str]] = {}
    for r in training.records:
        group_attributes.setdefault(r.record.group, set()).update(
            label for label in r.labels if label != "O"
        )
    allowed = {g: sorted(a) for g, a in sorted(group_attributes.items())}

    rows, correct, folds, gold = _out_of_fold(training, xseqs, yseqs, gazetteer, params, allowed)
    confidence = fit_confidence(rows, correct)
    scores = cross_fitted_scores(rows, correct, folds)
    calibrator = fit_calibrator(
        scores if rows else np.zeros(1),
        np.asarray(correct if rows else [False]),
        prior_strength=params.prior_strength,
    )
    cv = cross_validation(calibrator(scores).tolist() if rows else [], correct, gold)
    final = CRFTagger.from_crfsuite(train_crf(xseqs, yseqs, params.crf))
    seconds = round(time.perf_counter() - started, 2)
    counts = dict(sorted(training.counts.items()))
    model = LearnedExtractor(
        version=version,
        text_fields=fields,
        group_field=group_field,
        attributes=sorted(set(training.attributes)),
        group_attributes=allowed,
        gazetteer=gazetteer,
        tagger=final,
        confidence=confidence,
        calibrator=calibrator,
        min_confidence=cv.min_confidence,
        params=params,
        summary={"counts": counts, "cross_validation": cv.as_dict()},
    )
    return model, TrainingSummary(version, counts, training.skipped, cv, seconds)


def _known_tags(gazetteer: Gazetteer, tokens: Sequence[Token], fold: int) -> list[list[str]]:
    """Per token, the listed values covering it, then the attributes of the values its word
    is in (`Flavor:W`), both without its own fold's values (out-of-fold, as prediction sees
    values it never saw)."""
    lowered = [t.text.casefold() for t in tokens]
    tags = gazetteer.tags(lowered, leave_out=fold)
    for i, held in gazetteer.word_tags(lowered, leave_out=fold).items():
        tags[i] = [*tags[i], *held]
    return tags


def _gazetteer_entries(training: TrainingSet):  # generator of triples
    for r in training.records:
        seen: set[tuple[str, tuple[str, ...]]] = set()
        for attribute, values in r.record.values.items():
            for value in values:
                key = words(value.strip())
                if key and (attribute, key) not in seen:
                    seen.add((attribute, key))
                    yield r.fold, attribute, key


def _out_of_fold(
    training: TrainingSet,
    xseqs: list[list[list[str]]],
    yseqs: list[list[str]],
    gazetteer: Gazetteer,
    params: ExtractorParams,
    allowed: dict[str, list[str]],
) -> tuple[list[SpanEvidence], list[bool], list[int], int]:
    """What the confidence model reads of every value the fold models propose for held-out
    records, whether each was right, its fold, and how many labelled values there are."""
    rows: list[SpanEvidence] = []
    correct: list[bool] = []
    folds: list[int] = []
    gold = sum(
        1 for r in training.records for vs in r.record.values.values() if any(v.strip() for v in vs)
    )
    for fold in range(params.folds):
        train_idx = [i for i, r in enumerate(training.records) if r.fold != fold]
        test_idx = [i for i, r in enumerate(training.records) if r.fold == fold]
        if (
            not test_idx
            or not train_idx
            or not any(label != "O" for i in train_idx for label in yseqs[i])
        ):
            continue
        tagger = CRFTagger.from_crfsuite(
            train_crf([xseqs[i] for i in train_idx], [yseqs[i] for i in train_idx], params.crf)
        )
        group_allowed = [allowed.get(training.records[i].record.group) for i in test_idx]
        spans = tagger.spans_batch(
            [xseqs[i] for i in test_idx],
            group_allowed,
            [(a or ()) if params.secondary else () for a in group_allowed],
            [_title_tokens(training.records[i].tokens) for i in test_idx],
        )
        for i, record_allowed, record_spans in zip(test_idx, group_allowed, spans, strict=True):
            aligned = training.records[i]
            found = _candidates(
                columns_of(aligned.tokens), aligned.record.texts, record_spans, gazetteer, fold
            )
            for candidate in found:
                if record_allowed is not None and candidate.attribute not in record_allowed:
                    continue
                labelled = aligned.record.values.get(candidate.attribute) or []
                rows.append(candidate.evidence)
                correct.append(candidate.value.strip() in {v.strip() for v in labelled})
                folds.append(fold)
    return rows, correct, folds, gold
