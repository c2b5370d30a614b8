"""Shared fixtures: a real PostgreSQL cluster (devstack.localdb) and a fresh database per
test, cloned from a fully migrated template. No fakes of our own schema."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from dbolt.sql import Queries
from devstack import localdb

# Services are in production unless told otherwise; every settings object a test builds
# in-process is the local stack's. (Tests of production itself set their own environment;
# services started as subprocesses are told ENVIRONMENT=development by their harness.)
os.environ["ENVIRONMENT"] = "development"

# The portal's fixtures (portal_stack) live beside its harness.
pytest_plugins = ["tests.portal_harness"]

_database_names = itertools.count()


@pytest.fixture(scope="session")
def cluster() -> None:
    localdb.start()


@pytest.fixture(scope="session")
def queries() -> Queries:
    return Queries.load()


@pytest.fixture
def db_url(cluster: None) -> str:
    """URL of a brand-new database holding the migrations, seed and directory list."""
    name = f"pytest_{os.getpid()}_{next(_database_names)}"
    return localdb.fresh(name)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(db_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def api(db_url: str) -> Iterator[TestClient]:
    """The orchestrator in-process against this test's database, background loops running."""
    from tests.orchestrator_harness import build

    with TestClient(build(db_url)) as client:
        yield client
