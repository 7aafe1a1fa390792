"""Classification on plain CSV files, so anyone can train, predict and reproduce a benchmark
without a store: labelled CSV in, model file out; CSV in, `id,category_path,confidence` out.

Prediction streams the input in chunks and appends to the output, so a file of any size runs
in bounded memory.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from catalog.errors import InputError
from taxonomy.classifier import (
    Classifier,
    LexicalClassifier,
    SelfTrainedClassifier,
    StaticEmbeddingClassifier,
    SupervisedClassifier,
    load_classifier,
    save_classifier,
    self_train,
    train_supervised,
    zero_shot_classifier,
)
from taxonomy.embeddings import EmbeddingClassifier
from taxonomy.importers import load_paths
from taxonomy.model import Taxonomy
from taxonomy.text import Text

CHUNK_ROWS = 20_000
OUTPUT_COLUMNS = ("id", "category_path", "confidence")


@dataclass(frozen=True)
class TrainSummary:
    path: Path
    texts: int
    categories: int
    cv_accuracy: float
    cv_ece: float
    version: str


def train_from_csv(
    *,
    input_path: str | Path,
    text_columns: Sequence[str],
    label_column: str,
    model_path: str | Path,
    taxonomy: Taxonomy | None = None,
    seed: int = 0,
) -> TrainSummary:
    """Train on a labelled CSV whose label column holds paths (`A > B > C`) and save the model.

    Without `taxonomy`, the tree is built from the label paths themselves. Rows with an empty
    label are skipped (they are unlabelled, not wrong).

    Raises:
        InputError: missing columns, no labelled rows, or labels outside `taxonomy`.
    """
    frame = _read(input_path, [*text_columns, label_column])
    labels = frame[label_column].str.strip()
    labelled = frame[labels != ""]
    if labelled.empty:
        raise InputError.single(str(input_path), f"no row has a label in column '{label_column}'")
    label_list = labelled[label_column].str.strip().tolist()
    tree = taxonomy or load_paths(label_list, name=Path(input_path).stem, source=str(input_path))
    model = train_supervised(texts_from(labelled, text_columns), label_list, tree, seed=seed)
    path = save_classifier(model, model_path)
    return TrainSummary(
        path=path,
        texts=model.n_train,
        categories=len(model.classes),
        cv_accuracy=model.cv_accuracy,
        cv_ece=model.cv_ece,
        version=model.version,
    )


def predict_csv(
    *,
    classifier: Classifier,
    taxonomy: Taxonomy,
    input_path: str | Path,
    text_columns: Sequence[str],
    id_column: str,
    output_path: str | Path,
) -> int:
    """Write `id,category_path,confidence` for every row of the input; a row whose text gave
    nothing to go on gets an empty path and confidence 0. Returns the number of rows."""
    output = Path(output_path)
    output.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    temp = output.with_name(output.name + ".partial")
    with temp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(OUTPUT_COLUMNS)
        for chunk in _chunks(input_path, [*text_columns, id_column]):
            predictions = classifier.predict(texts_from(chunk, text_columns))
            writer.writerows(
                (
                    row_id,
                    taxonomy[p.node_id].path_text if p.node_id else "",
                    f"{p.confidence:.4f}",
                )
                for row_id, p in zip(chunk[id_column].tolist(), predictions, strict=True)
            )
            written += len(chunk)
    temp.replace(output)
    return written


def classifier_for(
    *,
    model_path: str | Path | None,
    taxonomy_path: str | Path | None,
    self_train_on: tuple[str | Path, Sequence[str]] | None = None,
) -> tuple[Classifier, Taxonomy]:
    """A saved model (with the taxonomy it was trained on), or zero-shot over a taxonomy file;
    with `self_train_on` (a CSV and its text columns), zero-shot self-trained on that file's
    surest answers (`taxonomy.selftrain`)."""
    from taxonomy.importers import load_taxonomy

    if (model_path is None) == (taxonomy_path is None):
        raise InputError.single("options", "give either --model or --taxonomy (zero-shot)")
    if model_path is not None:
        model = load_classifier(model_path)
        assert isinstance(
            model,
            SupervisedClassifier
            | LexicalClassifier
            | EmbeddingClassifier
            | StaticEmbeddingClassifier
            | SelfTrainedClassifier,
        )
        return model, model.taxonomy
    tree = load_taxonomy(taxonomy_path)  # type: ignore[arg-type]
    zero_shot = zero_shot_classifier(tree)
    if self_train_on is None:
        return zero_shot, tree
    input_path, text_columns = self_train_on
    texts = texts_from(_read(input_path, list(text_columns)), text_columns)
    return self_train(tree, texts, zero_shot), tree


def texts_from(frame: pd.DataFrame, text_columns: Sequence[str]) -> list[Text]:
    """Each row's text fields in the order given, the first read as the title."""
    return list(frame[list(text_columns)].itertuples(index=False, name=None))


def _read(path: str | Path, columns: Sequence[str]) -> pd.DataFrame:
    return pd.concat(list(_chunks(path, columns)), ignore_index=True)


def _chunks(path: str | Path, columns: Sequence[str]) -> Iterator[pd.DataFrame]:
    source = str(path)
    if not Path(path).is_file():
        raise InputError.single(source, "file not found")
    try:
        reader = pd.read_csv(
            path, dtype=str, keep_default_na=False, chunksize=CHUNK_ROWS, encoding="utf-8"
        )
        first = True
        for chunk in reader:
            if first:
                missing = [c for c in columns if c not in chunk.columns]
                if missing:
                    raise InputError.single(
                        source,
                        f"no column {', '.join(repr(c) for c in missing)}; "
                        f"the file has {', '.join(map(str, chunk.columns))}",
                        row=1,
                    )
                first = False
            yield chunk
    except UnicodeDecodeError as exc:
        raise InputError.single(source, f"not UTF-8 text ({exc.reason})") from None
    except pd.errors.EmptyDataError:
        raise InputError.single(source, "empty file: expected a header row") from None
    except pd.errors.ParserError as exc:
        raise InputError.single(source, f"not a readable CSV ({exc})") from None
