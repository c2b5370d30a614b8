"""The settings both paths share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class RunSettings:
    events: int  # per concurrency level
    concurrencies: tuple[int, ...]
    replay_concurrency: int
    pool_size: int
    webhook_secret: str
    notifier: Literal["catcher", "off"]
    log_dir: Path
