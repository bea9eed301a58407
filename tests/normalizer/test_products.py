import pytest

from normalizer.products import normalize_availability, normalize_brand, normalize_title


def variant(title: str) -> dict[str, str]:
    return dict(normalize_title(title).variant)


@pytest.mark.parametrize("a, b", [
    ("Madiran Château Montus 75 cl", "Madiran Château Montus 0,75 L"),
    ("Madiran Château Montus 75cl", "MADIRAN CHATEAU MONTUS 750 ML"),
    ("Cassoulet 1,5 kg", "Cassoulet 1500 g"),
    ("Cassoulet 1.5kg", "Cassoulet 1500g"),
    ("Huile d'olive 1 L", "Huile d'olive 100 cl"),
    ("Câble USB-C 1 m", "Câble USB-C 100 cm"),
    ("Clé USB 1 To", "Clé USB 1000 Go"),
    ("Tarte aux pommes 6 parts", "TARTE AUX POMMES 6 PARTS"),
    ("Huîtres n°3 douzaine", "Huîtres n° 3 12 pièces"),
    ("T-shirt taille M", "T-shirt M"),
    ("Pull bleu marine", "PULL BLEU MARINE"),
    ("Orchidée blanche", "Orchidée blanc"),
    ("Gaillac rouge Domaine de Rotier 2019", "Domaine de Rotier - Gaillac rouge 2019"),
])
def test_same_variant_written_two_ways(a: str, b: str) -> None:
    assert normalize_title(a).variant == normalize_title(b).variant != ()


@pytest.mark.parametrize("a, b", [
    ("T-shirt coton bio taille S", "T-shirt coton bio taille M"),
    ("Maillot Stade Toulousain S", "Maillot Stade Toulousain M"),
    ("Gaillac rouge 2019", "Gaillac rouge 2020"),
    ("Comté AOP 12 mois", "Comté AOP 18 mois"),
    ("Armagnac VSOP", "Armagnac XO"),
    ("Pain de campagne 500 g", "Pain de campagne 1 kg"),
    ("Espadrilles pointure 41", "Espadrilles pointure 42"),
    ("Pull laine rouge", "Pull laine écru"),
    ("Tablette chocolat noir 70 %", "Tablette chocolat noir 85 %"),
    ("Puzzle 500 pièces", "Puzzle 1000 pièces"),
    ("Boîte de vis 4x30 mm", "Boîte de vis 4x40 mm"),
    ("Carte cadeau 20 €", "Carte cadeau 30 €"),
    ("Huîtres douzaine", "Huîtres 2 douzaines"),
    ("Panier de légumes petit", "Panier de légumes grand"),
    ("Carnet Rhodia A5", "Carnet Rhodia A4"),
    ("Coffret découverte n°1", "Coffret découverte n°2"),
    ("Bougie parfumée figue", "Bougie parfumée lavande"),
])
def test_different_variants_stay_apart(a: str, b: str) -> None:
    va, vb = variant(a), variant(b)
    common = set(va) & set(vb)
    assert common and any(va[k] != vb[k] for k in common)


@pytest.mark.parametrize("title, expected", [
    ("Huile d'olive vierge extra 0,75 L", {"size": "750ml"}),
    ("Saucisse de Toulouse 500 g", {"size": "500g"}),
    ("Miel 250g", {"size": "250g"}),
    ("Soupe de poissons 780 ml", {"size": "780ml"}),
    ("Pack de 6 x 33 cl", {"count": "6", "size": "330ml"}),
    ("Boîte de vis bois 4x30 mm", {"dimensions_mm": "4x30"}),
    ("Chambre à air 700x25", {"dimensions": "700x25"}),
    ("Clé USB SanDisk 32 Go", {"capacity": "32go"}),
    ("Peluche Ours 25 cm", {"length": "250mm"}),
    ("Ampoule LED E27 806 lm", {"lumen": "806lm"}),
    ("Ampoule LED 2000 lumens 60 W", {"lumen": "2000lm", "power": "60w"}),
    ("T-shirt coton bio taille XL", {"clothing_size": "xl"}),
    ("Maillot taille 2XL", {"clothing_size": "xxl"}),
    ("Ballon de rugby taille 4", {"clothing_size": "4"}),
    ("Espadrilles pointure 42", {"clothing_size": "42"}),
    ("Pull laine bleu marine", {"colour": "bleu marine"}),
    ("Pull laine Écru", {"colour": "ecru"}),
    ("Montre Lip doré", {"colour": "dore"}),
    ("Gaillac 2021", {"vintage": "2021"}),
    ("Comté AOP 12 mois", {"vintage": "12mois"}),
    ("Armagnac Delord 10 ans", {"vintage": "10ans"}),
    ("Armagnac Château de Laubade VSOP", {"vintage": "vsop"}),
    ("Armagnac hors d'âge", {"vintage": "horsdage"}),
    ("Tablette chocolat 70 %", {"percent": "70"}),
    ("Tarte aux pommes 8 parts", {"count": "8"}),
    ("Jambon de Bayonne IGP 4 tranches", {"count": "4"}),
    ("Puzzle Toulouse 500 pièces", {"count": "500"}),
    ("Huîtres de Bouzigues douzaine", {"count": "12"}),
    ("Huîtres demi-douzaine", {"count": "6"}),
    ("Lot de 3 savons", {"count": "3"}),
    ("Carte cadeau 50 €", {"amount": "50"}),
    ("Croustade gasconne", {}),
    ("L'Étranger — Albert Camus", {}),
    ("Baguette tradition", {}),
    ("Jeu de société 7 Wonders", {}),
])
def test_variant_extraction(title: str, expected: dict[str, str]) -> None:
    assert variant(title) == expected


def test_title_forms() -> None:
    t = normalize_title("MADIRAN CHÂTEAU MONTUS 75CL AOC")
    assert t.display == "Madiran Château Montus 75cl AOC"
    assert t.key == "madiran chateau montus 750ml aoc"
    assert t.tokens == ("madiran", "chateau", "montus", "750ml", "aoc")
    assert t.variant == (("size", "750ml"),)


def test_title_key_drops_articles_and_keeps_order() -> None:
    assert normalize_title("Bonbons à la violette de Toulouse 100 g").key == (
        "bonbons violet toulouse 100g")
    assert normalize_title("L'Étranger — Albert Camus").key == "etranger albert camus"


def test_elided_l_is_not_a_size() -> None:
    assert normalize_title("L'Étranger").variant == ()


def test_several_values_of_one_dimension_are_joined() -> None:
    assert variant("Armagnac 1985 XO") == {"vintage": "1985+xo"}


@pytest.mark.parametrize("raw", [None, "", "  --  "])
def test_empty_title(raw: str | None) -> None:
    assert normalize_title(raw).key is None


@pytest.mark.parametrize("raw, display, key", [
    ("Château de Laubade", "Château de Laubade", "chateau laubade"),
    ("CHATEAU DE LAUBADE", "CHATEAU DE LAUBADE", "chateau laubade"),
    ("L'Occitane", "L'Occitane", "occitane"),
    ("Big Flo & Oli", "Big Flo & Oli", "big flo et oli"),
    (None, None, None),
])
def test_brand(raw: str | None, display: str | None, key: str | None) -> None:
    assert normalize_brand(raw) == (display, key)


@pytest.mark.parametrize("raw, expected", [
    ("En stock", "in_stock"), ("en_stock", "in_stock"), ("in_stock", "in_stock"),
    ("InStock", "in_stock"), ("https://schema.org/InStock", "in_stock"),
    ("http://schema.org/InStock", "in_stock"), ("Disponible", "in_stock"), ("12", "in_stock"),
    ("12 en stock", "in_stock"),
    ("Stock limité", "limited"), ("stock_limite", "limited"), ("LimitedAvailability", "limited"),
    ("low", "limited"), ("Plus que 2 en stock", "limited"), ("Derniers articles", "limited"),
    ("Rupture de stock", "out_of_stock"), ("Épuisé", "out_of_stock"), ("epuise", "out_of_stock"),
    ("OutOfStock", "out_of_stock"), ("https://schema.org/SoldOut", "out_of_stock"),
    ("out", "out_of_stock"), ("0", "out_of_stock"), ("Indisponible", "out_of_stock"),
])
def test_availability(raw: str, expected: str) -> None:
    assert normalize_availability(raw) == (expected, None)


def test_unknown_availability() -> None:
    assert normalize_availability("bientôt") == (None, "unknown_availability")
    assert normalize_availability(None) == (None, None)
