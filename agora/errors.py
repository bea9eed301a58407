"""The errors of the ``agora`` package that are the operator's to fix.

``AgoraError`` is the base; ``DemoError``: a stage of the demo could not run
(replicas not starting, every crawl failing). A setting the CLI cannot honour is a
``agora.settings.SettingError`` (a ``ValueError``, as the library's own checks).
"""

from __future__ import annotations


class AgoraError(Exception):
    """Base of the agora package's expected failures."""


class DemoError(AgoraError, RuntimeError):
    """A stage of the demo could not run (replicas not starting, every crawl failing)."""
