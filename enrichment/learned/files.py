"""The extractor on plain CSV files, so anyone can train, predict and reproduce the benchmark
without a store: a wide labelled CSV in (one column per attribute, an empty cell meaning "not
present in this record"), a model file out; a CSV in, long `id,attribute,value,confidence`
out, one row per value found.

Prediction streams the input in chunks and appends to the output, so memory stays flat in
file size; any cell is read whole and each text cut to the model's limit.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from catalog.errors import InputError
from enrichment.learned.examples import LabelledRecord
from enrichment.learned.model import (
    ExtractorParams,
    LearnedExtractor,
    NoTrainingData,
    TrainingSummary,
    train_extractor,
)

if TYPE_CHECKING:
    import pandas as pd

CHUNK_ROWS = 20_000
OUTPUT_COLUMNS = ("id", "attribute", "value", "confidence")


def _read(path: Path, *, chunksize: int | None = None) -> pd.DataFrame | Iterator[pd.DataFrame]:
    import pandas as pd  # (imported when needed: it costs more than predicting a small file)

    try:
        return pd.read_csv(
            path, dtype=str, keep_default_na=False, chunksize=chunksize, encoding="utf-8"
        )
    except FileNotFoundError:
        raise InputError.single(str(path), "no such file") from None
    except pd.errors.EmptyDataError:
        raise InputError.single(str(path), "the file is empty (no header row)") from None
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError.single(str(path), f"cannot be read as UTF-8 CSV: {exc}") from None


def _missing(path: Path, columns: Sequence[str], wanted: Sequence[str], what: str) -> None:
    absent = [c for c in wanted if c not in columns]
    if absent:
        raise InputError.single(
            str(path), f"{what} column(s) {absent} not in the header {list(columns)}"
        )


def read_labelled_csv(
    path: str | Path,
    *,
    text_columns: Sequence[str],
    group_column: str | None = None,
    attributes: Sequence[str] | None = None,
    id_column: str | None = None,
) -> tuple[list[LabelledRecord], list[str]]:
    """Labelled records of a wide CSV, and the attribute columns read.

    The attributes default to every column that is not the id, a text or the group column;
    `id_column` defaults to a column named `id` when there is one (else row numbers).

    Raises:
        InputError: unreadable file, or a named column missing.
    """
    import pandas as pd

    path = Path(path)
    frame = _read(path)
    assert isinstance(frame, pd.DataFrame)
    columns = list(frame.columns)
    if id_column is None and "id" in columns:
        id_column = "id"
    _missing(path, columns, list(text_columns), "text")
    _missing(path, columns, [c for c in (group_column, id_column) if c], "group/id")
    fixed = {*text_columns, *(c for c in (group_column, id_column) if c)}
    chosen = list(attributes) if attributes else [c for c in columns if c not in fixed]
    _missing(path, columns, chosen, "attribute")
    if not chosen:
        raise InputError.single(str(path), "no attribute columns (every column is id/text/group)")
    records: list[LabelledRecord] = []
    for position, row in enumerate(frame.to_dict("records"), start=2):
        records.append(
            LabelledRecord(
                id=str(row[id_column]) if id_column else f"row {position}",
                texts={c: row[c] for c in text_columns},
                group=row[group_column] if group_column else "",
                values={a: [row[a]] if row[a].strip() else [] for a in chosen},
            )
        )
    return records, chosen


def train_from_csv(
    *,
    input_path: str | Path,
    text_columns: Sequence[str],
    model_path: str | Path,
    group_column: str | None = None,
    attributes: Sequence[str] | None = None,
    id_column: str | None = None,
    params: ExtractorParams | None = None,
) -> TrainingSummary:
    """Train on a wide labelled CSV and save the model to `model_path`.

    Raises:
        InputError: unreadable file or missing columns.
        NoTrainingData: no row has a value that occurs in its text.
    """
    records, _ = read_labelled_csv(
        input_path,
        text_columns=text_columns,
        group_column=group_column,
        attributes=attributes,
        id_column=id_column,
    )
    if not records:
        raise NoTrainingData(f"{input_path}: no rows to learn from (only a header)")
    model, summary = train_extractor(
        records, text_fields=list(text_columns), group_field=group_column, params=params
    )
    model.save(model_path)
    return summary


def predict_csv(
    *,
    model: LearnedExtractor,
    input_path: str | Path,
    text_columns: Sequence[str],
    id_column: str,
    output_path: str | Path,
    group_column: str | None = None,
    min_confidence: float | None = None,
) -> int:
    """Write `id,attribute,value,confidence`, one row per value found; returns the row count.

    `text_columns` are read as the model's text fields, in order (title first).

    Raises:
        InputError: unreadable file, missing columns, or a different number of text columns
            than the model was trained on.
    """
    path = Path(input_path)
    if len(text_columns) != len(model.text_fields):
        raise InputError.single(
            str(path),
            f"the model reads {len(model.text_fields)} text field(s) "
            f"({', '.join(model.text_fields)}); --text names {len(text_columns)}",
        )
    output = Path(output_path)
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(output.name + ".tmp")
    # A plain file is read by the csv module; any other (`_NotPlain`) by pandas, which
    # reads it (and says what is wrong with it) as it always has.
    for reader in (_plain_chunks, _frame_chunks):
        try:
            written = _predict_chunks(
                model,
                reader(path),
                path,
                text_columns,
                id_column,
                temporary,
                group_column,
                min_confidence,
            )
            break
        except _NotPlain:
            temporary.unlink(missing_ok=True)
    temporary.replace(output)
    return written


def _predict_chunks(
    model: LearnedExtractor,
    chunks: Iterator[tuple[list[str], list[list[Any]]]],
    path: Path,
    text_columns: Sequence[str],
    id_column: str,
    temporary: Path,
    group_column: str | None,
    min_confidence: float | None,
) -> int:
    """Predict chunk by chunk (header, rows) and write the long rows to `temporary`; the
    first chunk is read and its columns checked before the file is created."""
    first = next(chunks, None)
    if first is not None:
        _missing(path, first[0], [*text_columns, id_column], "text/id")
        if group_column:
            _missing(path, first[0], [group_column], "group")
    written = 0
    with temporary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(OUTPUT_COLUMNS)
        if first is None:
            return 0
        header = first[0]
        columns = [header.index(c) for c in text_columns]
        at = header.index(id_column)
        group_at = header.index(group_column) if group_column else None
        fields = model.text_fields
        for _, rows in chain([first], chunks):
            texts = [dict(zip(fields, [row[c] for c in columns], strict=True)) for row in rows]
            groups = [row[group_at] for row in rows] if group_at is not None else None
            found = model.predict(texts, groups, min_confidence=min_confidence)
            for row, values in zip(rows, found, strict=True):
                record_id = row[at]
                for value in values:
                    writer.writerow([record_id, value.attribute, value.value, value.confidence])
                    written += 1
    return written


class _NotPlain(Exception):
    """The file is not one `_plain_chunks` reads exactly as pandas does."""


def _plain_chunks(path: Path) -> Iterator[tuple[list[str], list[list[str]]]]:
    """The header and `CHUNK_ROWS` rows at a time, read by the csv module (importing pandas
    costs more CPU than predicting a few thousand offers). Only a plain file is read this
    way: every row as long as the header, header names distinct, no bare carriage return
    ending a line, quoting well formed (`strict`), UTF-8. pandas reads such a file as the
    same strings (`tests/enrichment/test_learned_cli.py` compares them on random files);
    at anything else this raises `_NotPlain`, and `predict_csv` starts again with pandas."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError.single(str(path), "no such file") from None
    with handle:
        try:
            lines = _plain_lines(handle)
            reader = csv.reader(lines, strict=True)
            header = next(reader, None)
            if not header or len(set(header)) != len(header):
                raise _NotPlain
            width = len(header)
            rows: list[list[str]] = []
            emitted = False
            for row in reader:
                if len(row) != width:
                    if not row:  # a blank line (pandas skips them)
                        continue
                    raise _NotPlain
                rows.append(row)
                if len(rows) == CHUNK_ROWS:
                    yield header, rows
                    emitted, rows = True, []
            if rows or not emitted:
                yield header, rows  # (a header alone: one empty chunk, as pandas gives)
        except (UnicodeDecodeError, csv.Error):
            raise _NotPlain from None


def _plain_lines(handle: Iterator[str]) -> Iterator[str]:
    for line in handle:
        if line.endswith("\r"):  # a bare carriage return ends it (pandas splits otherwise)
            raise _NotPlain
        yield line


def _frame_chunks(path: Path) -> Iterator[tuple[list[str], list[list[Any]]]]:
    chunks = _read(path, chunksize=CHUNK_ROWS)
    for chunk in chunks:
        yield [str(c) for c in chunk.columns], chunk.values.tolist()
