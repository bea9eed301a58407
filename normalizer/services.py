"""Service labels mapped to the canonical set: click_collect, delivery, local_delivery.

Labels are read as folded words: "Click & Collect", "click_and_collect",
"Retrait en magasin", "Drive piéton" -> click_collect; "Livraison",
"Livraison à domicile", "Expédition", "ParcelService" -> delivery; "Livraison
locale", "local_delivery", "Livraison à vélo", "DeliveryModeOwnFleet" ->
local_delivery. schema.org / GoodRelations delivery methods are understood, URL
or bare.

Example:
    >>> map_service("Retrait en magasin"), map_service("Livraison locale")
    (('click_collect',), ('local_delivery',))
"""

from __future__ import annotations

import re
from functools import lru_cache

from normalizer.text import words

SERVICES = ("click_collect", "delivery", "local_delivery")

# Whole-label codes (folded words joined without spaces).
_CODES: dict[str, str] = {
    "clickcollect": "click_collect", "clickandcollect": "click_collect",
    "clickcollecte": "click_collect", "clicketcollect": "click_collect", "cc": "click_collect",
    "candc": "click_collect", "pickup": "click_collect", "instorepickup": "click_collect",
    "onsitepickup": "click_collect", "deliverymodepickup": "click_collect",
    "storepickup": "click_collect", "drive": "click_collect", "collect": "click_collect",
    "delivery": "delivery", "shipping": "delivery", "parcelservice": "delivery",
    "deliverymodemail": "delivery", "deliverymodefreight": "delivery",
    "lockerdelivery": "delivery", "homedelivery": "delivery", "livraison": "delivery",
    "localdelivery": "local_delivery", "deliverymodeownfleet": "local_delivery",
    "livraisonlocale": "local_delivery",
}
_LOCAL_WORDS = frozenset(("locale", "local", "proximite", "velo", "coursier", "quartier",
                          "rayon", "km", "ville", "commune", "alentours", "environs",
                          "ownfleet", "metropole", "agglomeration", "vélo"))
_PICKUP_WORDS = frozenset(("retrait", "retirer", "emporter", "pickup", "collect", "drive",
                           "enlevement", "reservation", "reserver", "click", "clic", "collecte"))
_DELIVERY_WORDS = frozenset(("livraison", "livre", "livrer", "livrons", "delivery", "expedition",
                             "expedie", "envoi", "colissimo", "chronopost", "shipping",
                             "domicile", "postal", "relais", "mondial"))
# Labels a platform uses in its own sense, by source key: Toulouse Boutiques shows
# "Livraison" for delivery and "Livraison à domicile" for its local delivery, where the
# other platforms mean delivery by "Livraison à domicile".
SOURCE_LABELS: dict[str, dict[str, tuple[str, ...]]] = {
    "toulouse_boutiques": {"livraison a domicile": ("local_delivery",)},
}
_URL = re.compile(r"^https?://[^#]*[#/]", re.I)


@lru_cache(maxsize=5_000)
def map_service(label: str | None) -> tuple[str, ...]:
    """The canonical services a label names (sorted; "Retrait et livraison" names two)."""
    if not label:
        return ()
    text = _URL.sub("", label.strip())
    tokens = words(re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text))
    if not tokens:
        return ()
    code = _CODES.get("".join(tokens))
    if code:
        return (code,)
    token_set = set(tokens)
    found = set()
    if token_set & _PICKUP_WORDS:
        found.add("click_collect")
    if token_set & _DELIVERY_WORDS:
        found.add("local_delivery" if token_set & _LOCAL_WORDS else "delivery")
    return tuple(sorted(found))


def map_services(labels: list[str] | tuple[str, ...] | str | None,
                 source: str | None = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(sorted canonical services, labels that named none) of a services field.

    ``source`` selects the platform's own meanings (``SOURCE_LABELS``) first.
    """
    if not labels:
        return (), ()
    if isinstance(labels, str):
        labels = [p for p in re.split(r"\s*[,;|]\s*", labels) if p]
    own = SOURCE_LABELS.get(source or "", {})
    found: set[str] = set()
    unknown: list[str] = []
    for label in labels:
        text = str(label)
        services = own.get(" ".join(words(text))) if own else None
        services = services or map_service(text)
        if services:
            found.update(services)
        else:
            unknown.append(text)
    return tuple(sorted(found)), tuple(unknown)
