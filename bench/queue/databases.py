"""The queue benchmark's databases; the helpers now live in bench.common, shared with the
other benchmarks, and are re-exported here under their old names."""

from __future__ import annotations

from bench.common import fresh_empty, fresh_migrated, server_version, start_cluster

__all__ = ["fresh_empty", "fresh_migrated", "server_version", "start_cluster"]
