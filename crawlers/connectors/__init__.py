"""API connectors (httpx) and the registry of every crawler by connector key."""

# connector key in sources.yaml -> "module:Class" of an ApiConnector
CONNECTORS: dict[str, str] = {
    "tout_toulouse": "crawlers.connectors.tout_toulouse:ToutToulouseConnector",
    "clickandco": "crawlers.connectors.clickandco:ClickAndCoConnector",
    "geolocal31": "crawlers.connectors.geolocal31:Geolocal31Connector",
}

# connector key in sources.yaml -> "module:Class" of a Scrapy spider (crawlers.spiders)
SPIDERS: dict[str, str] = {
    "toulouse_boutiques": "crawlers.spiders.toulouse_boutiques:ToulouseBoutiquesSpider",
    "dansmazone": "crawlers.spiders.dansmazone:DansMaZoneSpider",
}
