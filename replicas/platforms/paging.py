"""How the replica platforms page their lists.

By position (page numbers, offsets): the window a page shows shifts when listings were
added (+) or removed (-) ahead of it while a crawler walks the list; the fault
middleware passes that pagination drift in the WSGI environ (``replica.drift``). By key
(cursors, ``search_after``): the page starts after the last key served, so nothing added
or removed ahead of it can shift it.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def requested_drift(environ: dict[str, Any]) -> int:
    """The pagination drift the fault middleware set for this request (0: none)."""
    return int(environ.get("replica.drift", 0))


def drifted_window(items: list[T], offset: int, size: int, drift: int, *,
                   full_at_start: bool = False) -> list[T]:
    """The ``size`` items of the page at ``offset`` under ``drift``: the window moves back
    by ``drift``. One moved before the first item is cut there (shorter), or, with
    ``full_at_start``, starts there and shows a whole page."""
    start = offset - drift
    if full_at_start:
        start = max(0, start)
    return items[max(0, start):max(0, start + size)]


def after_key(keys: Sequence[str], key: str | None) -> int:
    """The position of the first of the sorted ``keys`` after ``key`` (None: the first)."""
    return 0 if key is None else bisect.bisect_right(keys, key)
