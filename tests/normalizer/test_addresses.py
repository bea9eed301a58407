import pytest

from normalizer.addresses import department_of, normalize_address, normalize_postcode, parse_city


@pytest.mark.parametrize("line, number, suffix, street, key", [
    ("12 bis r. de Metz", "12", "bis", "rue de Metz", "rue metz"),
    ("12B, Bd de Strasbourg", "12", "bis", "boulevard de Strasbourg", "boulevard strasbourg"),
    ("12bis rue de Metz", "12", "bis", "rue de Metz", "rue metz"),
    ("12 B RUE DE METZ", "12", "bis", "rue de Metz", "rue metz"),
    ("7 ter av. de Rangueil", "7", "ter", "avenue de Rangueil", "avenue rangueil"),
    ("7T avenue de Rangueil", "7", "ter", "avenue de Rangueil", "avenue rangueil"),
    ("3 quater place du Capitole", "3", "quater", "place du Capitole", "place capitole"),
    ("12 Bd de Strasbourg", "12", None, "boulevard de Strasbourg", "boulevard strasbourg"),
    ("5 ALLÉES JEAN-JAURÈS", "5", None, "allées Jean-Jaurès", "allee jean jaures"),
    ("5 all. Jean-Jaurès", "5", None, "allée Jean-Jaurès", "allee jean jaures"),
    ("18 R. D'ALSACE-LORRAINE", "18", None, "rue d'Alsace-Lorraine", "rue alsace lorraine"),
    ("4 rue St-Rome", "4", None, "rue Saint-Rome", "rue saint rome"),
    ("4 rue Saint-Rome", "4", None, "rue Saint-Rome", "rue saint rome"),
    ("9 av. du Gal de Gaulle", "9", None, "avenue du Gal de Gaulle", "avenue general gaulle"),
    ("9 avenue du Général-de-Gaulle", "9", None, "avenue du Général-de-Gaulle",
     "avenue general gaulle"),
    ("012 chem. des Écoles", "12", None, "chemin des Écoles", "chemin ecoles"),
    ("12-14 rue de Metz", "12", None, "rue de Metz", "rue metz"),
    ("n°12 rue de Metz", "12", None, "rue de Metz", "rue metz"),
    ("Marché Victor Hugo, place Victor-Hugo", None, None, "place Victor-Hugo",
     "place victor hugo"),
    ("Bâtiment B, 3 imp. des Lilas", "3", None, "impasse des Lilas", "impasse lilas"),
    ("3 rte de Narbonne BP 12345", "3", None, "route de Narbonne", "route narbonne"),
    ("Grande Rue", None, None, "Grande Rue", "grande rue"),
    ("12 Avenue de la Gloire", "12", None, "avenue de la Gloire", "avenue gloire"),
])
def test_street_line(line: str, number: str | None, suffix: str | None, street: str,
                     key: str) -> None:
    a = normalize_address(line, "31000", "Toulouse")
    assert (a.street_number, a.street_suffix, a.street, a.street_key) == (
        number, suffix, street, key)


def test_address_key_agrees_across_spellings() -> None:
    keys = {normalize_address(line, pc, city).address_key for line, pc, city in [
        ("12 bis rue de Metz", "31000", "Toulouse"),
        ("12B, R. DE METZ", None, "31000 TOULOUSE"),
        ("12bis r de Metz", "31 000", "TOULOUSE CEDEX 6"),
        ("12 bis rue de Metz, 31000 Toulouse", None, None),
    ]}
    assert keys == {"12bis rue metz|31000"}


def test_address_key_needs_a_street_and_a_postcode() -> None:
    assert normalize_address("12 rue de Metz", None, "Toulouse").address_key is None
    assert normalize_address(None, "31000", "Toulouse").address_key is None
    assert normalize_address("rue de Metz", "31000", None).address_key == "rue metz|31000"


@pytest.mark.parametrize("raw, display, key, postcode, cedex", [
    ("TOULOUSE CEDEX 6", "Toulouse", "toulouse", None, True),
    ("Toulouse Cedex", "Toulouse", "toulouse", None, True),
    ("31670 Labège", "Labège", "labege", "31670", False),
    ("Labège (31670)", "Labège", "labege", "31670", False),
    ("LABEGE", "Labege", "labege", None, False),
    ("SAINT-ORENS-DE-GAMEVILLE", "Saint-Orens-de-Gameville", "saint orens de gameville", None,
     False),
    ("St-Orens-de-Gameville", "St-Orens-de-Gameville", "saint orens de gameville", None, False),
    ("Paris 15e Arrondissement", "Paris 15e Arrondissement", "paris", None, False),
    ("Lyon 3e", "Lyon 3e", "lyon", None, False),
    ("PARIS 15", "Paris 15", "paris", None, False),
    ("Marseille 13013", "Marseille", "marseille", "13013", False),
    ("Marseille 1er", "Marseille 1er", "marseille", None, False),
    ("L'UNION", "L'Union", "l union", None, False),
    ("Toulouse (31)", "Toulouse", "toulouse", None, False),
])
def test_city(raw: str, display: str, key: str, postcode: str | None, cedex: bool) -> None:
    assert parse_city(raw) == (display, key, postcode, cedex)


@pytest.mark.parametrize("raw, expected", [
    ("31000", ("31000", False, None)),
    ("31 000", ("31000", False, None)),
    ("9000", ("09000", False, None)),
    ("31000.0", ("31000", False, None)),
    ("F-31000", ("31000", False, None)),
    ("31035 CEDEX 1", ("31035", True, None)),
    ("00123", (None, False, "invalid_postcode")),
    ("Toulouse", (None, False, "invalid_postcode")),
    ("310000", (None, False, "invalid_postcode")),
])
def test_postcode(raw: str, expected: tuple) -> None:
    assert normalize_postcode(raw) == expected


@pytest.mark.parametrize("postcode, dept", [
    ("31000", "31"), ("09000", "09"), ("97400", "974"), ("20000", "2A"), ("20200", "2B"),
    (None, None),
])
def test_department(postcode: str | None, dept: str | None) -> None:
    assert department_of(postcode) == dept


def test_postcode_from_the_city_field_and_cedex() -> None:
    a = normalize_address("12 rue de Metz", None, "31000 TOULOUSE CEDEX 6")
    assert (a.postcode, a.city, a.city_key, a.cedex, a.department) == (
        "31000", "Toulouse", "toulouse", True, "31")
    assert a.problems == ()


def test_postcode_field_wins_over_the_city_field_and_the_conflict_is_flagged() -> None:
    a = normalize_address("12 rue de Metz", "31000", "31670 Labège")
    assert a.postcode == "31000"
    assert a.problems == (("postcode", "conflicting_postcode", "31000 / 31670"),)


def test_invalid_postcode_is_flagged_and_the_city_one_used() -> None:
    a = normalize_address("12 rue de Metz", "310", "31670 Labège")
    assert a.postcode == "31670"
    assert a.problems == (("postcode", "invalid_postcode", "310"),)


def test_bad_postcode_without_fallback() -> None:
    a = normalize_address("12 rue de Metz", "ABCDE", "Toulouse")
    assert a.postcode is None and a.problems == (("postcode", "invalid_postcode", "ABCDE"),)


def test_nothing() -> None:
    a = normalize_address(None, None, None)
    assert a.street is None and a.address_key is None and not a.cedex and a.problems == ()
