"""The catalog's schema: one folder of numbered SQL files per engine (``sqlite/``).

``catalog.migrate`` applies, in order, the files of the engine a catalog runs on
that it has not applied yet, and records each in ``schema_version``.
"""
