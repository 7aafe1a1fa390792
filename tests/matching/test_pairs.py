"""Pair files: bad input is refused with the row and column named, nothing half-read."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.errors import InputError
from matching.pairs import read_pairs

GOOD = (
    "pair_id,label,id_left,title_left,id_right,title_right\n"
    "a#b,1,a,sony kdl-40 tv,b,Sony KDL40 television\n"
    "a#c,0,a,sony kdl-40 tv,c,lg oled55 tv\n"
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pairs.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_stacks_each_record_once(tmp_path: Path) -> None:
    pairs = read_pairs(_write(tmp_path, GOOD))
    assert pairs.pair_ids == ["a#b", "a#c"]
    assert pairs.labels.tolist() == [1, 0]
    assert len(pairs.records) == 3  # 'a' is on the left of both pairs
    assert pairs.left.tolist() == [0, 0] and pairs.attributes == ["title"]


def test_labels_other_than_0_1_are_refused_by_row(tmp_path: Path) -> None:
    text = GOOD + "a#d,yes,a,x,d,y\na#e,2,a,x,e,y\n"
    with pytest.raises(InputError) as info:
        read_pairs(_write(tmp_path, text))
    message = str(info.value)
    assert "row 4, column 'label': label must be 0 or 1, not 'yes'" in message
    assert "row 5" in message and "'2'" in message


def test_missing_label_and_pair_id_columns_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        read_pairs(_write(tmp_path, "title_left,title_right\nx,y\n"))
    assert "column 'pair_id'" in str(info.value) and "column 'label'" in str(info.value)


def test_an_attribute_with_one_side_only_is_named(tmp_path: Path) -> None:
    text = "pair_id,label,title_left,title_right,brand_left\na#b,1,x,y,z\n"
    with pytest.raises(InputError, match="'brand' has no right column"):
        read_pairs(_write(tmp_path, text))


def test_no_attribute_columns_and_repeated_pair_ids(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no attribute columns"):
        read_pairs(_write(tmp_path, "pair_id,label,id_left,id_right\na#b,1,a,b\n"))
    with pytest.raises(InputError, match="repeats row 2"):
        read_pairs(_write(tmp_path, GOOD + "a#b,1,a,x,b,y\n"))


def test_unlabelled_files_score_without_a_label_column(tmp_path: Path) -> None:
    text = "pair_id,title_left,title_right\na#b,x y,x y\n"
    pairs = read_pairs(_write(tmp_path, text), labelled=False)
    assert pairs.labels is None and len(pairs.records) == 2
