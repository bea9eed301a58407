import pytest

from normalizer.categories import TAXONOMY, map_category, singular
from replicas.vocab import TRADES


@pytest.mark.parametrize("key, platform, label", [
    (trade.key, platform, label) for trade in TRADES for platform, label in trade.labels.items()
])
def test_every_platform_label_maps_to_its_trade(key: str, platform: str, label: str) -> None:
    assert map_category(label) == (key,)


@pytest.mark.parametrize("trade", TRADES, ids=lambda t: t.key)
def test_display_labels_and_keys(trade: object) -> None:
    assert TAXONOMY[trade.key] == trade.label  # type: ignore[attr-defined]
    assert map_category(trade.label) == (trade.key,)  # type: ignore[attr-defined]
    assert map_category(trade.key) == (trade.key,)  # type: ignore[attr-defined]


def test_taxonomy_is_the_worlds() -> None:
    assert set(TAXONOMY) == {t.key for t in TRADES}


@pytest.mark.parametrize("label, expected", [
    # labels of platforms not in the replicas
    ("Boulangeries-Pâtisseries", ("boulangerie",)),
    ("BOULANGERIE", ("boulangerie",)),
    ("BoulangeriePatisserie", ("boulangerie",)),
    ("Commerces > Alimentation > Boulangerie", ("boulangerie",)),
    ("Alimentation / Fromages et crèmerie", ("fromagerie",)),
    ("shop=bakery", ("boulangerie",)),
    ("Bakery", ("boulangerie",)),
    ("Cave à fromages", ("fromagerie",)),
    ("Cave à vins", ("caviste",)),
    ("Bières & spiritueux", ("caviste",)),
    ("Épicerie fine & cave", ("epicerie_fine",)),
    ("Traiteur", ("boucherie",)),
    ("Fruits et légumes bio", ("primeur",)),
    ("Produits de la mer", ("poissonnerie",)),
    ("Fruits de mer", ("poissonnerie",)),
    ("Boulangerie & Chocolaterie", ("boulangerie", "chocolatier")),
    ("Jewellery", ("bijouterie",)),
    ("Bike shop", ("velo",)),
    ("Coffee & Tea", ("cafe_the",)),
    ("The Wine Shop", ("caviste",)),
    ("Thé", ("cafe_the",)),
    ("Vinyles", ("disquaire",)),
    ("Prêt-à-porter femme", ("pret_a_porter",)),
    ("Lunetterie", ("opticien",)),
])
def test_new_labels(label: str, expected: tuple[str, ...]) -> None:
    assert map_category(label) == expected


@pytest.mark.parametrize("label", ["Pharmacie", "Santé", "Services", "", "???", "Garage"])
def test_unknown_labels_map_to_nothing(label: str) -> None:
    assert map_category(label) == ()


def test_the_most_specific_segment_wins() -> None:
    assert map_category("Mode > Chaussures") == ("chaussures",)
    assert map_category("Maison > Bricolage") == ("quincaillerie",)
    assert map_category("Mode") == ("pret_a_porter",)
    assert map_category("Maison") == ("decoration",)


@pytest.mark.parametrize("word, expected", [
    ("gateaux", "gateau"), ("vins", "vin"), ("bijoux", "bijou"), ("jus", "jus"),
    ("verres", "verre"), ("the", "the"),
])
def test_singular(word: str, expected: str) -> None:
    assert singular(word) == expected
