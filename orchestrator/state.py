"""Everything a request or a background loop needs, built once per app."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from dbolt.sql.database import Database
from dbolt.vault import Vault
from orchestrator.metrics import Metrics, QueueSnapshot
from orchestrator.settings import OrchestratorSettings


@dataclass
class WorkerHealth:
    healthy: int = 0
    stale: int = 0


@dataclass
class AppState:
    settings: OrchestratorSettings
    db: Database
    snapshot: QueueSnapshot
    metrics: Metrics
    # Seals and opens parked directories' sessions (orchestrator/sessions.py).
    vault: Vault
    started_at: float = field(default_factory=time.monotonic)
    workers: WorkerHealth = field(default_factory=WorkerHealth)
    # Providers currently judged degraded (e.g. {"captcha"}); None until first evaluated.
    degraded: set[str] | None = None

    @classmethod
    def build(cls, settings: OrchestratorSettings) -> AppState:
        snapshot = QueueSnapshot()
        db = Database.from_settings(settings, name="orchestrator")
        return cls(
            settings=settings,
            db=db,
            snapshot=snapshot,
            metrics=Metrics(snapshot),
            vault=settings.vault(),
        )
