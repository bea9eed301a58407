"""A query's time budget for facet counts, and a cache of exact counts, for the embedded
engines.

Counting facets costs in proportion to the matches. ``FacetBudget`` learns that
cost per match from the queries it counted in full (a running mean over the
first ones, then a moving one; counts of a few matches, whose cost is mostly fixed, are
left out) and, when a query's time spent so far plus its
predicted count would pass the budget, answers a power of two: count over that
fraction of the matches (documents by number modulo ``SAMPLE_MODULUS``) and
multiply. The hits and the total stay exact; the page says the counts are
approximate. ``FacetCache`` keeps the counts of recent queries for the live index:
the same search asked again (another page, another order, another shopper) does
not count again.

Example:
    >>> budget = FacetBudget(50.0)
    >>> budget.cost_ms = 0.001  # one microsecond per match, as learned
    >>> budget.learned = 10
    >>> budget.scale(1_000, time.perf_counter()), budget.scale(500_000, time.perf_counter())
    (1, 16)
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

# A search page should answer within a tenth of a second to feel immediate; the engine
# gets half of it.
DEFAULT_BUDGET_MS = 50.0
SAMPLE_MODULUS = 64  # the finest sample: one document in 64
MIN_LEARNED = 5  # queries counted in full before predicting
# the fewest matches a count teaches the cost per match from: below, the count's fixed
# cost (a collector set up, its answer read back: a few tenths of a millisecond) outweighs
# its matches, and dividing it by a handful of them would predict a hundredfold cost for
# the next thousand
LEARN_FROM = 1000
WINDOW = 50  # the moving mean's horizon, in queries
FACET_CACHE_SIZE = 4096  # queries whose counts are kept (a few MB)


class FacetBudget:
    """When to count facets over a sample, from the cost learned per match."""

    def __init__(self, budget_ms: float = DEFAULT_BUDGET_MS) -> None:
        self.budget_ms = float(budget_ms)
        self.cost_ms = 0.0
        self.learned = 0

    def scale(self, matches: int, started: float) -> int:
        """1 to count every match; else k, to count one match in k and multiply by k."""
        if self.learned < MIN_LEARNED or not matches:
            return 1
        spent = (time.perf_counter() - started) * 1000
        predicted = matches * self.cost_ms
        if spent + predicted <= self.budget_ms:
            return 1
        left = max(self.budget_ms - spent, self.budget_ms / 4)
        return int(min(SAMPLE_MODULUS, 2 ** math.ceil(math.log2(max(1.0, predicted / left)))))

    def learn(self, matches: int, counting_started: float, scale: int) -> None:
        """Record the cost of a count just made (counts over a sample, or over fewer than
        ``LEARN_FROM`` matches, teach nothing)."""
        if scale != 1 or matches < LEARN_FROM:
            return
        cost = (time.perf_counter() - counting_started) * 1000 / matches
        self.learned += 1
        self.cost_ms += (cost - self.cost_ms) / min(self.learned, WINDOW)


class LruCache:
    """A bounded mapping shared by threads, the least recently used entry out first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable) -> Any:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


class FacetCache(LruCache):
    """Facet counts of recent queries, per live index (an index never changes: its counts
    stay true until the next build replaces it); estimated ones say so, and give way to
    exact ones when a query has the time to count. Elasticsearch's shard request cache
    does the same for its aggregations."""

    def __init__(self, size: int = FACET_CACHE_SIZE) -> None:
        super().__init__(size)
