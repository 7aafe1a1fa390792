"""Normalising identifiers: what makes two spellings of one product compare equal."""

from __future__ import annotations

from matching.records import assign_roles, parse_price
from matching.text import code_key, fold, gtin, model_codes, number_runs, quantities


def test_model_codes_ignore_separators_and_spacing() -> None:
    assert "kxtg1032s" in model_codes("panasonic kx-tg1032s dual handset")
    assert "kxtg1032s" in model_codes(fold("Panasonic KXTG1032S"))
    assert "dvd2930ci" in model_codes("denon dvd 2930ci player")
    assert code_key("KX-TG 1032/S") == "kxtg1032s"


def test_plain_words_and_short_tokens_are_not_codes() -> None:
    assert model_codes("black leather case for tablets") == set()
    assert "a1" not in model_codes("a1 case")


def test_gtin_check_digit_and_padding() -> None:
    assert gtin("0 12345 67890 5") == "00012345678905"
    assert gtin("12345678905") == "00012345678905"  # leading zero lost by a spreadsheet
    assert gtin("012345678906") is None  # wrong check digit
    assert gtin("abc") is None and gtin("") is None


def test_quantities_keep_units_and_fold_spellings() -> None:
    assert quantities('samsung 24" monitor 4tb 6.0 ghz') == {"24|in", "4|tb", "6|ghz"}
    assert "24|in" in quantities("24 inch monitor")


def test_number_runs_find_numbers_inside_codes_and_fold_spellings() -> None:
    assert number_runs("intel core i7-9700f") == {"7", "9700"}
    assert number_runs("cs-m8000 250gb") == number_runs("m8000 250 gb") == {"8000", "250"}
    assert number_runs('2,5" 06.50 0.5') == number_runs("2.50 6.5 00.50") == {"2.5", "6.5", "0.5"}
    assert number_runs("no digits here") == set()


def test_roles_come_from_column_names() -> None:
    roles = assign_roles(["Product Name", "Brand", "MFR Part No", "UPC", "Unit Price"])
    assert roles["title"] == ["Product Name"] and roles["brand"] == ["Brand"]
    assert roles["code"] == ["MFR Part No"] and roles["gtin"] == ["UPC"]
    assert roles["price"] == ["Unit Price"]
    assert assign_roles(["Offer"])["title"] == ["Offer"]
    assert assign_roles(["title", "manufacturer"])["brand"] == ["manufacturer"]


def test_prices_in_several_notations() -> None:
    assert parse_price("$1,299.00") == 1299.0
    assert parse_price("1.299,50 €") == 1299.5
    assert parse_price("12,49") == 12.49
    assert parse_price("") != parse_price("")  # NaN


def test_fold_is_nfkd_without_marks_lowercased_with_or_without_its_ascii_shortcut() -> None:
    """`fold` skips normalisation for ASCII text; it must equal the full rule on any text."""
    import random
    import unicodedata

    def reference(text: str) -> str:
        decomposed = unicodedata.normalize("NFKD", text)
        return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()

    rng = random.Random(3)
    alphabet = "aZ09 -.é Ü ﬁ ² ½ ١"
    for _ in range(5_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
        assert fold(text) == reference(text), text
