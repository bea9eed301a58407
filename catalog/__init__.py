"""The catalog: the store every stage reads and writes, and the search backends.

It owns every SQL statement on its tables (``catalog.store.Catalog`` and its
stores: runs, listings, locks, schedule, sources, clean listings, entities,
match state), its schema (numbered migrations per engine, ``catalog.migrate``)
and the sources' status read from them (``catalog.status``). It imports no
stage above it (``agora``, ``crawlers``, ``dedup``, ``search_ui``).
"""
