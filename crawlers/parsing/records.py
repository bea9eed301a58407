"""Records of an API or a page: a short digest that tells apart records without an id.

A record without a usable id cannot be a listing, but it is reported once (not
once per page or tile it comes back on) and counted against an announced total;
its digest is what tells two of them apart.

Example:
    >>> fingerprint({"b": 1, "a": [2]}) == fingerprint({"a": [2], "b": 1})
    True
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def fingerprint(raw: Any) -> str:
    """A short digest of a record's content (key order does not matter)."""
    text = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
