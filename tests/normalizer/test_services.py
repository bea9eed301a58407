import pytest

from normalizer.services import map_service, map_services


@pytest.mark.parametrize("label, expected", [
    ("Click & Collect", ("click_collect",)),
    ("Click & collect", ("click_collect",)),
    ("click_and_collect", ("click_collect",)),
    ("click_collect", ("click_collect",)),
    ("Click and Collect", ("click_collect",)),
    ("Clic & collecte", ("click_collect",)),
    ("Retrait en magasin", ("click_collect",)),
    ("Retrait en boutique", ("click_collect",)),
    ("Drive piéton", ("click_collect",)),
    ("A emporter", ("click_collect",)),
    ("https://schema.org/OnSitePickup", ("click_collect",)),
    ("http://purl.org/goodrelations/v1#DeliveryModePickUp", ("click_collect",)),
    ("Livraison", ("delivery",)),
    ("delivery", ("delivery",)),
    ("Livraison à domicile", ("delivery",)),
    ("Expédition en France", ("delivery",)),
    ("ParcelService", ("delivery",)),
    ("Livraison locale", ("local_delivery",)),
    ("local_delivery", ("local_delivery",)),
    ("Livraison à vélo", ("local_delivery",)),
    ("Livraison dans un rayon de 10 km", ("local_delivery",)),
    ("http://purl.org/goodrelations/v1#DeliveryModeOwnFleet", ("local_delivery",)),
    ("Retrait et livraison", ("click_collect", "delivery")),
    ("Paiement CB", ()),
    ("", ()),
])
def test_map_service(label: str, expected: tuple[str, ...]) -> None:
    assert map_service(label) == expected


def test_map_services_sorted_and_unknown_kept() -> None:
    assert map_services(["Livraison", "Click & Collect", "Parking", "click_and_collect"]) == (
        ("click_collect", "delivery"), ("Parking",))
    assert map_services("Livraison, Retrait en magasin") == (("click_collect", "delivery"), ())
    assert map_services(None) == ((), ())


def test_a_platform_own_meaning_comes_first() -> None:
    assert map_services(["Livraison à domicile"], "toulouse_boutiques") == (
        ("local_delivery",), ())
    assert map_services(["Livraison à domicile"], "geolocal31") == (("delivery",), ())
