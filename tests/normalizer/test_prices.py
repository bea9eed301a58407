import pytest

from normalizer.prices import currency_code, normalize_price, strict_amount


@pytest.mark.parametrize("raw, cents", [
    ("12,90 €", 1290),
    ("12.90", 1290),
    (12.9, 1290),
    (12, 1200),
    (19.99, 1999),
    (0.1 + 0.2, 30),
    ("1\u202f250,00 €", 125000),   # narrow no-break space between thousands
    ("1\u00a0250,00 €", 125000),   # no-break space
    ("1 250,00 €", 125000),
    ("1.250,00 €", 125000),
    ("1,250.00", 125000),
    ("1'250.00 CHF", 125000),
    ("EUR 5", 500),
    ("5€", 500),
    ("5 euros", 500),
    ("12€90", 1290),
    ("12 € 90", 1290),
    ("0,89€", 89),
    ("12,9", 1290),
    ("Prix : 12,90 € TTC", 1290),
    ("€12.90", 1290),
    ("De 12 à 15 €", 1200),
    ("gratuit", 0),
    ("Offert", 0),
    ("0 €", 0),
])
def test_prices(raw: str | float, cents: int) -> None:
    assert normalize_price(raw) == (cents, "EUR" if raw != "1'250.00 CHF" else "CHF", None)


@pytest.mark.parametrize("raw, cents", [
    (",89 €", 89),       # price-parser reads 89
    (",89", 89),
    ("3.350", 335),      # price-parser reads 3350
    ("3,350", 335),
    ("3,350 €", 335),
    ("10.000 €", 1000),  # ambiguous: read as decimals, flagged
])
def test_price_parser_misreads_are_guarded_and_flagged(raw: str, cents: int) -> None:
    assert normalize_price(raw) == (cents, "EUR", "price_misread_guarded")


@pytest.mark.parametrize("raw", ["NC", "Prix sur demande", "-5 €", "1.2.3", "2000000 €",
                                 -3.0, float("nan"), float("inf"), True])
def test_invalid_prices(raw: object) -> None:
    cents, _, problem = normalize_price(raw)  # type: ignore[arg-type]
    assert cents is None and problem == "invalid_price"


@pytest.mark.parametrize("raw, currency, expected", [
    ("12", "EUR", "EUR"), ("12", "€", "EUR"), ("12", "euros", "EUR"), ("12 $", None, "USD"),
    ("£5", None, "GBP"), ("12", None, "EUR"), ("12 $", "EUR", "EUR"),
])
def test_currency(raw: str, currency: str | None, expected: str) -> None:
    assert normalize_price(raw, currency)[1] == expected


def test_unknown_currency_field_is_flagged_and_the_default_used() -> None:
    assert normalize_price("12", "zz") == (1200, "EUR", "invalid_currency")


def test_territory_default_currency() -> None:
    assert normalize_price("12", None, "CHF") == (1200, "CHF", None)


def test_missing_price() -> None:
    assert normalize_price(None) == (None, None, None)
    assert normalize_price("") == (None, None, None)


def test_strict_reader() -> None:
    assert strict_amount("1 234 567,89") == (strict_amount("1234567.89")[0], False, False)
    assert strict_amount("abc") == (None, False, False)
    assert currency_code("Euro") == "EUR" and currency_code("dollars?") is None
