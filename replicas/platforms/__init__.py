"""The replica platforms, by key (as in config/sources.yaml)."""

PLATFORM_CLASSES: dict[str, str] = {
    "tout_toulouse": "replicas.platforms.tout_toulouse:ToutToulouse",
    "toulouse_boutiques": "replicas.platforms.toulouse_boutiques:ToulouseBoutiques",
    "clickandco": "replicas.platforms.clickandco:ClickAndCo",
    "dansmazone": "replicas.platforms.dansmazone:DansMaZone",
    "geolocal31": "replicas.platforms.geolocal31:Geolocal31",
    "mavillemonshopping": "replicas.platforms.mavillemonshopping:MaVilleMonShopping",
    "achetezlocal": "replicas.platforms.achetezlocal:AchetezLocal",
    "panier_toulousain": "replicas.platforms.panier_toulousain:PanierToulousain",
    "achetezgrandnancy": "replicas.platforms.achetezgrandnancy:AchetezGrandNancy",
}

DEFAULT_PORTS: dict[str, int] = {
    "tout_toulouse": 8701,
    "toulouse_boutiques": 8702,
    "clickandco": 8703,
    "dansmazone": 8704,
    "geolocal31": 8705,
    "mavillemonshopping": 8706,
    "achetezlocal": 8711,
    "panier_toulousain": 8712,
    "achetezgrandnancy": 8710,
}
