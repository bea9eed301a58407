"""Crawlers: Scrapy spiders for HTML platforms, httpx connectors for APIs, one registry of both.

Every crawler yields the same thing, ``PageResult`` objects holding listings in
the contract (``crawlers.listing``). ``crawlers.registry`` resolves a source's
``connector:`` to its crawler type, built in (``connectors/``, ``spiders/``) or
declarative (``declarative/``, whose generic crawlers the built-in ones
subclass); ``crawlers.config`` loads and validates the sources file;
``crawlers.orchestrator`` runs one ``crawlers.worker`` process per source, whose
``crawlers.sink`` writes into the catalog. Shared parsing lives in
``parsing/`` (sitemaps, schema.org) and ``tiling``; ``hosts``, ``bodies`` and
``redaction`` keep every crawler on its platform's hosts, within its body
limit, and its secrets out of what it writes; every error is a
``crawlers.errors.CrawlError``.
"""
