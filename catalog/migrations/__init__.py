"""The catalog's schema: numbered SQL files, one folder per engine.

``sqlite/`` and ``postgresql/`` hold the same migrations written for each
engine (a test checks that both end with the same tables and columns);
``catalog.migrate`` applies, in order, the files of the engine a catalog runs on
that it has not applied yet, and records each in ``schema_version``.
"""
