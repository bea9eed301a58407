"""What a stage of the build reports: its name, its time and its figures.

Shared by the stages that live in ``catalog/`` (the index stage) and those the
pipeline (``agora.pipeline``) runs on top of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class StageReport:
    name: str
    seconds: float = 0.0
    figures: dict[str, Any] = field(default_factory=dict)
