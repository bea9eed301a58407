import pytest

from normalizer.hours import format_hours, normalize_hours

CANONICAL = "Tu-Sa 09:30-12:30,14:00-19:00; Su 07:00-13:00"


@pytest.mark.parametrize("raw", [
    "Tu-Sa 09:30-12:30,14:00-19:00; Su 07:00-13:00",
    "Tu-Sa 09:30-12:30, 14:00-19:00; Su 07:00-13:00",
    "Su 07:00-13:00; Tu-Sa 09:30-12:30,14:00-19:00",
    "Tu-Sa 09:30-12:30; Tu-Sa 14:00-19:00; Su 07:00-13:00",
    "Tu-Sa 14:00-19:00; Tu-Sa 09:30-12:30; Su 07:00-13:00",
    ["Tu-Sa 09:30-12:30", "Tu-Sa 14:00-19:00", "Su 07:00-13:00"],
    "Du mardi au samedi de 9h30 à 12h30 et de 14h à 19h ; le dimanche de 7h à 13h",
    "du mardi au samedi : 9h30-12h30 / 14h-19h, dimanche 7h-13h",
    "Mardi-Samedi 9h30-12h30, 14h00-19h00 ; Dimanche 7h00-13h00",
    "Tuesday-Saturday 9:30-12:30, 14:00-19:00; Sunday 7:00-13:00",
    "Tu,We,Th,Fr,Sa 09:30-12:30,14:00-19:00; Su 07:00-13:00",
    "Tu-Sa 09:30-12:30,14:00-19:00; Su 07:00-13:00; Mo off",
    "Lundi fermé ; du mardi au samedi de 9h30 à 12h30 et de 14h à 19h ; dimanche de 7h à 13h",
])
def test_the_three_forms_compare_equal(raw: object) -> None:
    assert normalize_hours(raw) == CANONICAL  # type: ignore[arg-type]


@pytest.mark.parametrize("raw, expected", [
    ("Mo-Sa 09:00-19:00", "Mo-Sa 09:00-19:00"),
    ("Mo-Fr 10:00-19:00; Sa 10:00-18:00", "Mo-Fr 10:00-19:00; Sa 10:00-18:00"),
    ("Mo-Sa 07:00-20:00; Su 07:00-13:00", "Mo-Sa 07:00-20:00; Su 07:00-13:00"),
    ("Mo-Sa 09:00-19:00; We 09:00-12:00", "Mo,Tu,Th-Sa 09:00-19:00; We 09:00-12:00"),
    ("Mo 09:00-12:00; Tu 09:00-12:00", "Mo,Tu 09:00-12:00"),
    ("Mo-Fr 09:00-12:00,12:00-18:00", "Mo-Fr 09:00-18:00"),
    ("Mo-Fr 09:00-13:00,12:00-18:00", "Mo-Fr 09:00-18:00"),
    ("Sa-Mo 10:00-12:00", "Mo,Sa,Su 10:00-12:00"),
    ("Fr 22:00-02:00", "Fr 22:00-02:00"),
    ("Lun-Ven : 9h-12h / 14h-18h", "Mo-Fr 09:00-12:00,14:00-18:00"),
    ("Lundi au vendredi : 9h - 19h, fermé le samedi", "Mo-Fr 09:00-19:00"),
    ("Tous les jours sauf le lundi de 8h à 20h", "Tu-Su 08:00-20:00"),
    ("7j/7 de 9h à 20h", "Mo-Su 09:00-20:00"),
    ("Du lundi au samedi de 9h à midi", "Mo-Sa 09:00-12:00"),
    ("de 9 à 12h du lundi au vendredi", "Mo-Fr 09:00-12:00"),
    ("Monday-Friday 9am-5pm", "Mo-Fr 09:00-17:00"),
    ("Mo-Fr 09:00-18:00; PH off", "Mo-Fr 09:00-18:00"),
    ("24/7", "24/7"),
    ("24h/24 7j/7", "24/7"),
    ("Mo-Su 00:00-24:00", "24/7"),
    ("Mo-Su off", "off"),
])
def test_canonical_forms(raw: str, expected: str) -> None:
    assert normalize_hours(raw) == expected


@pytest.mark.parametrize("raw", [
    "Sur rendez-vous", "9h-19h", "Mo-Fr", "Lundi", "Mo-Fr 09:00", "Mo-Fr 25:00-26:00",
    "Mo-Fr 09:00-09:00", "Ouvert le 25 décembre", "Mo-Fr 9h-18h sauf août", "???", "",
    "Fermé",  # for good, or for the holidays? not guessed
    "Je vous accueille de 9h à 19h",  # "je" is not Thursday here
])
def test_unparseable_gives_none(raw: str) -> None:
    assert normalize_hours(raw) is None


def test_missing() -> None:
    assert normalize_hours(None) is None


def test_format_hours() -> None:
    table = {0: ((540, 1080),), 1: ((540, 1080),), 2: ((540, 1080),), 5: ((600, 720),)}
    assert format_hours(table) == "Mo-We 09:00-18:00; Sa 10:00-12:00"
    assert format_hours({}) == "off"
