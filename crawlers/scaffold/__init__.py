"""Drafting a platform's ``sources.yaml`` entry from its site (``agora sources scaffold``).

``probe`` fetches what a crawler may (robots.txt obeyed, the platform's origin
only, bounded in pages and time) and reads the sitemaps; ``discover`` finds, in
the pages it samples, schema.org JSON-LD and microdata objects, lists of them
with their next links, detail pages, and JSON endpoints the pages name
(``data-*`` attributes, ``fetch(``/XHR URLs in inline and linked scripts,
``<link rel=alternate type=application/json>``), which it tries; ``draft``
maps what was found to the listing contract and writes a complete sources file
with one entry, a comment on each choice and on what it could not map.
``scaffold(url, name)`` runs the three.
"""

from __future__ import annotations

from crawlers.scaffold.discover import Findings, discover
from crawlers.scaffold.draft import draft_entry
from crawlers.scaffold.probe import Probe


def scaffold(url: str, name: str, *, max_pages: int = 60, seconds: float = 60.0) -> str:
    """The text of a sources file with one entry, ``name``, drafted for the site at ``url``."""
    with Probe(url, max_pages=max_pages, seconds=seconds) as probe:
        findings = discover(probe)
    return draft_entry(name, url, findings)


__all__ = ["Findings", "Probe", "discover", "draft_entry", "scaffold"]
