"""What the scout reads: the worker's browser and destination settings, under the same
variable names, and nothing else — no worker token or orchestrator, so staff can scout from
any machine with Chromium."""

from __future__ import annotations

from pydantic import field_validator

from dbolt.settings import ServiceSettings
from worker.addresses import parse_allow_list


class ScoutSettings(ServiceSettings):
    chromium_path: str = "/usr/lib/chromium/chromium"
    headless_shell_path: str = "/usr/lib/chromium/chromium-headless-shell"
    browser_lean: bool = True
    browser_network_in_process: bool = True
    navigation_timeout_ms: int = 15_000
    step_timeout_ms: int = 8_000
    # As for the worker: public addresses only, and these exact host:port pairs, which only
    # development sets (the local sandbox). Scouting a URL someone typed is an SSRF surface.
    worker_allowed_private_hosts: str = ""

    @field_validator("worker_allowed_private_hosts")
    @classmethod
    def _allow_list_is_host_ports(cls, value: str) -> str:
        parse_allow_list(value)
        return value
