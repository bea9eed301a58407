"""API connectors (httpx), one module per platform, registered as crawler types here.

Each is an ``ApiConnector`` (``crawlers.connectors.base``) named by its
``connector:`` key; the keys its ``options:`` accepts are listed with it, so a
misspelt option is refused when the sources file is loaded.
"""

from __future__ import annotations

from crawlers.registry import CrawlerType
from crawlers.tiling import parse_box
from crawlers.validation import Key, at_least, between


def crawler_types() -> list[CrawlerType]:
    """The hook ``crawlers.registry`` calls: the built-in API connectors."""
    return [
        CrawlerType(
            "tout_toulouse", "api", "crawlers.connectors.tout_toulouse:ToutToulouseConnector",
            "Tout Toulouse's JSON API: bearer token, drift-proof offset paging, "
            "updated_since with tombstones",
            options={
                "page_size": Key((int,), "items asked per page (100, the API's maximum)",
                                 check=between(1, 100)),
                "overlap": Key((int,), "items each window shares with the previous one (5)",
                               check=at_least(1)),
                "since_margin_s": Key((int, float), "seconds taken off `since` for clock "
                                      "skew (300)", check=at_least(0)),
                "max_backoffs": Key((int,), "half steps back over one gap (4)",
                                    check=at_least(0)),
                "recovery_rounds": Key((int,), "re-pagings of head and tail while short (3)",
                                       check=at_least(0)),
                "max_consecutive_failures": Key((int,), "pages lost in a row before the rest "
                                                "of an endpoint is given up (3)",
                                                check=at_least(1)),
            }),
        CrawlerType(
            "clickandco", "api", "crawlers.connectors.clickandco:ClickAndCoConnector",
            "Click'n Co's JSON API: cursor-paged shops, products per shop, paced under "
            "the announced rate limit",
            options={
                "page_size": Key((int,), "items asked per page (50, the API's maximum)",
                                 check=between(1, 50)),
                "rate_limit": Key((int, float), "requests a second (default: what the API "
                                  "announces, 20 until it does; 0: no pacing)",
                                  check=at_least(0)),
                "rate_burst": Key((int, float), "the server's burst (default: the rate)",
                                  check=at_least(1)),
                "rate_margin": Key((int, float), "share of the announced rate used (0.95)",
                                   check=between(0.01, 1)),
                "rate_limited_rounds": Key((int,), "extra rounds after 429s ran out the "
                                           "retries (3)", check=at_least(0)),
            }),
        CrawlerType(
            "geolocal31", "api", "crawlers.connectors.geolocal31:Geolocal31Connector",
            "Géo'local31's GeoJSON by bounding box: tiles split while the answer is capped",
            options={
                "bbox": Key((list, str), "[minLon, minLat, maxLon, maxLat] or 'a,b,c,d' "
                            "(Haute-Garonne)", check=parse_box),
                "min_tile": Key((int, float), "degrees below which a capped tile is not "
                                "split again (0.0001)", check=at_least(1e-9)),
                "cap": Key((int,), "features per answer assumed capped when the server "
                           "omits numberMatched", check=at_least(1)),
                "endpoint": Key((str,), "the GeoJSON endpoint (/api/commerces)"),
                "page_url": Key((str,), "the public page of a shop, with {id} "
                            "(/commerce/{id})"),
            }),
    ]
