"""The territories an instance serves, checked against the sources file.

``check_sources`` refuses a territory naming a source that ``config/sources.yaml``
does not have (file and line of the territory's ``sources``). ``sources_to_crawl``
is what ``agora crawl`` and ``agora schedule`` crawl when no source is named: the
enabled sources, less those that only territories this instance does not serve
name (a source no territory names is not bound to one, and is kept).
"""

from __future__ import annotations

from collections.abc import Mapping

from crawlers.source import SourceConfig
from normalizer.territories import Territories, TerritoryConfigError


def check_sources(every: Territories, sources: Mapping[str, SourceConfig]) -> None:
    """Raise ``TerritoryConfigError`` listing every territory's unknown sources."""
    problems = [f"{t.where}: territory {t.key!r}: sources: unknown source {key!r} "
                f"(the sources file has: {', '.join(sources)})"
                for t in every for key in t.sources if key not in sources]
    if problems:
        raise TerritoryConfigError("\n".join(problems))


def sources_to_crawl(sources: Mapping[str, SourceConfig], every: Territories,
                     served: Territories) -> list[SourceConfig]:
    """The enabled sources this instance crawls (see the module docstring)."""
    check_sources(every, sources)
    named = {key for t in every for key in t.sources}
    wanted = {key for t in served for key in t.sources}
    return [c for c in sources.values()
            if c.enabled and (c.key in wanted or c.key not in named)]
