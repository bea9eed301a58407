import pytest

from normalizer.identifiers import (
    gtin_check_digit,
    gtin_ok,
    luhn_ok,
    normalize_gtin,
    normalize_siret,
    siren_ok,
    siret_ok,
)


@pytest.mark.parametrize("raw, expected", [
    ("73282932000074", ("73282932000074", "732829320", None)),
    ("732 829 320 00074", ("73282932000074", "732829320", None)),
    ("732.829.320.00074", ("73282932000074", "732829320", None)),
    ("SIRET : 732 829 320 00074", ("73282932000074", "732829320", None)),
    ("73282932000075", (None, None, "bad_siret_checksum")),
    ("73282932100074", (None, None, "bad_siret_checksum")),
    ("732829320", (None, "732829320", None)),
    ("732829321", (None, None, "bad_siren_checksum")),
    ("7328293200007", (None, None, "invalid_siret")),
    ("7328293200007X", (None, None, "invalid_siret")),
    (None, (None, None, None)),
    ("", (None, None, None)),
])
def test_siret(raw: str | None, expected: tuple) -> None:
    assert normalize_siret(raw) == expected


@pytest.mark.parametrize("siret", ["35600000049837", "35600000000001", "35600000010000"])
def test_la_poste_siret_uses_the_digit_sum_rule(siret: str) -> None:
    assert sum(map(int, siret)) % 5 == 0 and not luhn_ok(siret)
    assert siret_ok(siret)
    assert normalize_siret(siret) == (siret, "356000000", None)


def test_la_poste_head_office_passes_luhn() -> None:
    assert luhn_ok("35600000000048") and siret_ok("35600000000048")


def test_la_poste_rule_only_for_la_poste() -> None:
    assert not luhn_ok("35600000049837")          # passes only by the La Poste rule
    assert not siret_ok("35600000049838")         # sum 46: fails both rules
    assert siren_ok("356000000")


@pytest.mark.parametrize("raw, expected", [
    ("3017620422003", "3017620422003"),            # EAN-13
    ("301 7620 422003", "3017620422003"),
    ("96385074", "0000096385074"),                 # EAN-8
    ("036000291452", "0036000291452"),             # UPC-A
    ("00036000291452", "0036000291452"),           # GTIN-14, indicator 0
    ("10036000291459", "10036000291459"),          # GTIN-14 of a case: keeps 14 digits
    ("9782070360024", "9782070360024"),            # ISBN-13
    ("2-07-036002-4", "9782070360024"),            # ISBN-10 converted
    ("080442957X", "9780804429573"),               # ISBN-10 with X
    ("EAN: 3017620422003", "3017620422003"),
])
def test_valid_gtin(raw: str, expected: str) -> None:
    assert normalize_gtin(raw) == (expected, None)


@pytest.mark.parametrize("raw", [
    "3017620422004", "96385075", "036000291453", "10036000291450", "2-07-036002-5",
    "0000000000000", "301762042200", "12345", "abc",
])
def test_invalid_gtin(raw: str) -> None:
    assert normalize_gtin(raw) == (None, "invalid_gtin")


def test_check_digits() -> None:
    assert gtin_check_digit("301762042200") == "3"
    assert gtin_check_digit("9638507") == "4"
    assert gtin_ok("3017620422003") and not gtin_ok("3017620422003 ")


def test_missing_gtin() -> None:
    assert normalize_gtin(None) == (None, None) and normalize_gtin(" ") == (None, None)
