"""Errors of the catalog and of the search backends.

    CatalogError
    ├── CatalogLocked        another process holds the catalog too long
    ├── SchemaTooOld         a read-only connection to a catalog not yet migrated
    ├── RunNotFound          no crawl run with that id
    ├── ListingNotFound      no listing SOURCE:ID in the catalog
    ├── BackupError          a backup or a restore could not be made
    └── BackendError         a search backend failed
        └── BackendNotConfigured
"""

from __future__ import annotations


class CatalogError(Exception):
    """Base of every catalog error."""


class CatalogLocked(CatalogError):
    pass


class SchemaTooOld(CatalogError):
    def __init__(self, current: int, latest: int) -> None:
        super().__init__(f"the catalog's schema is version {current}, this code needs "
                         f"{latest}: run any writing command (e.g. `agora build`) to upgrade it")
        self.current, self.latest = current, latest


class RunNotFound(CatalogError):
    def __init__(self, run_id: int) -> None:
        super().__init__(f"no crawl run {run_id}")
        self.run_id = run_id


class ListingNotFound(CatalogError):
    def __init__(self, source: str, source_id: str) -> None:
        super().__init__(f"no listing {source}:{source_id} in the catalog")
        self.source, self.source_id = source, source_id


class BackupError(CatalogError):
    """A backup or a restore could not be made."""


class BackendError(CatalogError):
    """A search backend failed."""


class BackendNotConfigured(BackendError):
    pass
