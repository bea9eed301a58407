"""Crawlers: Scrapy spiders for HTML platforms, httpx connectors for APIs.

Every crawler yields the same thing, ``PageResult`` objects holding listings in
the contract (``crawlers.listing``); ``crawlers.sink`` writes them into the
catalog; ``crawlers.orchestrator`` runs one worker process per source.
"""
