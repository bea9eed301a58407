"""The catalog: the store every stage reads and writes, and the search backends.

It owns every SQL statement on its tables (``catalog.store.Catalog`` and its
stores: runs, listings, locks, schedule, sources, the crawl queue and its
workers, clean listings, entities, match state), the engines it runs on
(``catalog.sqlite``, the embedded default; ``catalog.postgres``, for
deployments), its schema (numbered migrations per engine, ``catalog.migrate``),
its backups (``catalog.backup``) and the status read from them
(``catalog.status``). It imports no stage above it (``agora``, ``crawlers``,
``dedup``, ``search_ui``).
"""
