import pytest

from normalizer.text import bounded, fix_case, fold, is_shouting, needs_case_fix, plain, words


@pytest.mark.parametrize("text, expected", [
    ("Crèmerie", "Cremerie"),
    ("Œuvre cœur", "OEuvre coeur"),
    ("L’Épicerie", "L'Epicerie"),
    ("plain ascii", "plain ascii"),
    ("Prêt-à-porter", "Pret-a-porter"),
])
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected


def test_plain_keeps_accents_and_dashes_and_collapses_odd_spaces() -> None:
    assert plain("  L’Étranger —\u00a0Albert\u202fCamus ") == "L'Étranger — Albert Camus"


def test_words_split_on_everything_but_letters_and_digits() -> None:
    assert words("boulangerie_patisserie > L'Épicerie & Co. 75cl") == [
        "boulangerie", "patisserie", "l", "epicerie", "co", "75cl"]


@pytest.mark.parametrize("text, expected", [
    ("LA CAVE D'OCCITANIE", "La Cave d'Occitanie"),
    ("SAINT-ORENS-DE-GAMEVILLE", "Saint-Orens-de-Gameville"),
    ("L'ATELIER DU CYCLISTE", "L'Atelier du Cycliste"),
    ("boulangerie dupont", "Boulangerie Dupont"),
    ("CAVE & TERROIRS", "Cave & Terroirs"),
])
def test_fix_case(text: str, expected: str) -> None:
    assert fix_case(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("BOULANGERIE", True), ("boulangerie", True), ("Boulangerie", False), ("12", False),
])
def test_needs_case_fix(text: str, expected: bool) -> None:
    assert needs_case_fix(text) is expected


def test_is_shouting() -> None:
    assert is_shouting("SARL DUPONT") and not is_shouting("Sarl Dupont") and not is_shouting("A")


def test_bounded_cuts_to_200_characters() -> None:
    assert len(bounded("x" * 500)) == 200
    assert bounded(12.5) == "12.5"
