"""Schemathesis against the orchestrator's own OpenAPI: whatever it is sent, authorised or
not, it never answers 5xx."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from dbolt.sql import Queries
from devstack import localdb
from tests.support.orchestrator_harness import STAFF, WORKER, build, serve
from tests.support.queue_helpers import create_job, enable_test_directories

# The document only: building it needs no database.
schema = schemathesis.openapi.from_dict(build("postgresql://127.0.0.1:1/unused").openapi())


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    localdb.start()
    db_url = localdb.fresh(f"pytest_fuzz_orchestrator_{os.getpid()}")
    with psycopg.connect(db_url, autocommit=True) as conn:
        # Real rows, so generated calls also meet existing jobs, leases and directories.
        enable_test_directories(conn, 3)
        queries = Queries.load()
        for n in range(5):
            create_job(conn, queries, email=f"fuzz{n}@example.com")
    with serve(build(db_url)) as url:
        yield url


def _credentials(case: Any) -> dict[str, str]:
    tags = case.operation.definition.raw.get("tags", [])
    return STAFF if "staff" in tags else WORKER


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_input_yields_a_server_error(case: Any, server: str) -> None:
    authorised = case.call(base_url=server, headers=_credentials(case), timeout=10)
    assert authorised.status_code < 500, (
        authorised.status_code,
        authorised.text,
        case.as_curl_command(),
    )
    anonymous = case.call(base_url=server, timeout=10)
    assert anonymous.status_code < 500, (anonymous.status_code, anonymous.text)
