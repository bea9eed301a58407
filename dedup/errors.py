"""Errors of the matcher.

    MatchError
    ├── MatchSettingsError   config/matching.yaml is wrong (names the key)
    ├── UnknownListing       explain/review named a listing the catalog lacks
    ├── ReviewConflict       a decision contradicts an earlier one
    └── NoModel              no full build has stored a match model yet
"""

from __future__ import annotations


class MatchError(Exception):
    """Base of every matcher error."""


class MatchSettingsError(MatchError):
    pass


class UnknownListing(MatchError):
    pass


class ReviewConflict(MatchError):
    pass


class NoModel(MatchError):
    pass
