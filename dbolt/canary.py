"""The canary's contract between worker and orchestrator (issue 17): which directories to dry
run, what one dry run found, and what the database made of it. The worker holds no database
credentials; these go over the orchestrator's worker API (orchestrator/routers/canary.py)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dbolt.contracts import DirectoryId

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class CanaryDirectory(BaseModel):
    """An enabled directory the canary dry runs: its recipe (or `mode: auto`) and where its
    form is. `drifted`: already out of new jobs (the canary still looks, for staff)."""

    directory_id: str
    name: str
    mode: str
    homepage: str
    submit_url: str | None = None
    recipe: dict[str, Any] | None = None
    category_map: dict[str, Any] = Field(default_factory=dict)
    baseline_digest: str | None = None
    drifted: bool = False


class CanaryReport(BaseModel):
    """One dry run: the form signature (null only when a step failed before the page could be
    read), its digest, and the step that failed with the site's or the browser's words."""

    model_config = ConfigDict(extra="forbid")
    directory_id: DirectoryId
    signature: dict[str, Any] | None = None
    digest: str | None = None
    failed_step: str | None = Field(default=None, min_length=1, max_length=500)
    error: str | None = Field(default=None, max_length=2000)

    @field_validator("digest")
    @classmethod
    def _sha256_hex(cls, value: str | None) -> str | None:
        if value is not None and not _SHA256_HEX.match(value):
            raise ValueError("digest must be 64 lower-case hex digits (sha256)")
        return value


class CanaryVerdict(BaseModel):
    """What directories_record_canary decided for one run."""

    run_id: int
    ok: bool
    baseline_stored: bool
    drifted: bool
    newly_drifted: bool
    alert_raised: bool
    jobs_skipped: int
