import pytest

from normalizer.names import normalize_name, strip_legal_form


@pytest.mark.parametrize("raw, display, key, form", [
    ("BOULANGERIE DUPONT SARL", "Boulangerie Dupont", "boulangerie dupont", "SARL"),
    ("SAS LA CAVE DES CARMES", "La Cave des Carmes", "cave carmes", "SAS"),
    ("La Cave des Carmes", "La Cave des Carmes", "cave carmes", None),
    ("Boulangerie Dupont (EURL)", "Boulangerie Dupont", "boulangerie dupont", "EURL"),
    ("Boulangerie Dupont - S.A.R.L.", "Boulangerie Dupont", "boulangerie dupont", "SARL"),
    ("Boulangerie Dupont, sarl", "Boulangerie Dupont", "boulangerie dupont", "SARL"),
    ("Ets Dupont", "Ets Dupont", "etablissements dupont", None),
    ("Établissements Dupont", "Établissements Dupont", "etablissements dupont", None),
    ("Fromagerie de St-Cyprien", "Fromagerie de St-Cyprien", "fromagerie saint cyprien", None),
    ("Fromagerie de Saint-Cyprien", "Fromagerie de Saint-Cyprien", "fromagerie saint cyprien",
     None),
    ("Cave & Co", "Cave & Co", "cave et co", None),
    ("Cave et Co", "Cave et Co", "cave et co", None),
    ("Mson Dupont", "Mson Dupont", "maison dupont", None),
    ("L'ŒIL BUISSONNIER EI", "L'Œil Buissonnier", "oeil buissonnier", "EI"),
    ("le fournil d'occitanie", "Le Fournil d'Occitanie", "fournil occitanie", None),
    ("  «Boulangerie Dupont»  ", "Boulangerie Dupont", "boulangerie dupont", None),
])
def test_display_key_and_legal_form(raw: str, display: str, key: str, form: str | None) -> None:
    name = normalize_name(raw)
    assert (name.display, name.key, name.legal_form) == (display, key, form)
    assert name.tokens == tuple(key.split())


@pytest.mark.parametrize("raw", ["Le Sas", "Sas Gourmand", "Ei Dupont"])
def test_short_legal_forms_in_lower_case_are_words(raw: str) -> None:
    assert strip_legal_form(raw) == (raw, None)


def test_a_name_that_is_only_a_legal_form_is_kept() -> None:
    assert normalize_name("SARL").display == "SARL"


def test_a_name_of_articles_only_keeps_its_words() -> None:
    assert normalize_name("Le La").key == "le la"


@pytest.mark.parametrize("raw", [None, "", "   ", "--"])
def test_empty(raw: str | None) -> None:
    assert normalize_name(raw).key is None


def test_accents_kept_as_given_in_the_display_only() -> None:
    a, b = normalize_name("Crèmerie Azéma"), normalize_name("CREMERIE AZEMA")
    assert a.display == "Crèmerie Azéma" and b.display == "Cremerie Azema"
    assert a.key == b.key == "cremerie azema"
