import pytest

from normalizer.phones import normalize_phone


@pytest.mark.parametrize("raw", [
    "05 61 22 33 44", "05.61.22.33.44", "0561223344", "05-61-22-33-44", "+33 5 61 22 33 44",
    "+33 (0)5 61 22 33 44", "+33561223344", "0033561223344", "0033 (0)5 61 22 33 44",
    "561223344", "Tél : 05 61 22 33 44", "Tel. 05 61 22 33 44",
    "05 61 22 33 44 / 06 12 34 56 78",
])
def test_fixed_line_forms_agree(raw: str) -> None:
    assert normalize_phone(raw) == ("+33561223344", "fixed", None)


@pytest.mark.parametrize("raw, e164, kind", [
    ("06 12 34 56 78", "+33612345678", "mobile"),
    ("07 81 23 45 67", "+33781234567", "mobile"),
    ("0800 12 34 56", "+33800123456", "other"),
    ("09 72 12 34 56", "+33972123456", "other"),
    ("0590 12 34 56", "+590590123456", "fixed"),      # Guadeloupe
    ("0692 78 02 24", "+262692780224", "mobile"),     # La Réunion
    ("+33 6 92 78 02 24", "+262692780224", "mobile"),  # same number, written from abroad
    ("+41 22 730 51 11", "+41227305111", "fixed"),    # Switzerland
])
def test_kinds_and_regions(raw: str, e164: str, kind: str) -> None:
    assert normalize_phone(raw) == (e164, kind, None)


@pytest.mark.parametrize("raw", ["05 61 22 33", "0561", "abc", "+32 2 999 99 99 99",
                                 "0000000000", "123"])
def test_invalid(raw: str) -> None:
    assert normalize_phone(raw) == (None, None, "invalid_phone")


def test_unknown_block_of_the_right_length_is_kept_but_flagged() -> None:
    # 07 0x is not allocated in phonenumbers' metadata, but has a mobile's shape
    assert normalize_phone("07 09 94 06 01") == ("+33709940601", "mobile", "unverified_phone")
    assert normalize_phone("+33709940601") == ("+33709940601", "mobile", "unverified_phone")


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_missing(raw: str | None) -> None:
    assert normalize_phone(raw) == (None, None, None)


def test_region_other_than_france() -> None:
    assert normalize_phone("022 730 51 11", "CH") == ("+41227305111", "fixed", None)
