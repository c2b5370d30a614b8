"""Shared fixtures: a real PostgreSQL cluster (devstack.localdb) and a fresh database per
test, cloned from a fully migrated template. No fakes of our own schema.

Each test is marked with its tier, the folder it sits in (tests/unit, tests/integration,
tests/e2e, tests/devstack; each folder's __init__ says what belongs there), so a new test file
only needs placing. Harnesses and helpers live in tests/support."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
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
# Every test names its own database (db_url: a fresh clone). Something that fell back to the
# default DATABASE_URL instead — a settings object built without one, a child process not
# given one — would write into the dev database `make up` reuses, whose notifier would then
# mail that test's orders. The fallback names a database that does not exist: such a test
# fails at once, saying which database it wanted.
os.environ["DATABASE_URL"] = localdb.database_url("tests_use_their_own_database_not_this")

# The portal's fixtures (portal_stack) live beside its harness.
pytest_plugins = ["tests.support.portal_harness"]

TESTS_DIR = Path(__file__).resolve().parent
TIERS = ("unit", "integration", "e2e", "devstack")

_database_names = itertools.count()


# tryfirst: the markers must be on the items before `-m` selects by them.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = tier_of(item.path)
        if tier is None:
            continue
        item.add_marker(tier)
        # Every database fixture starts from `cluster`, so this catches them all.
        uses_database = isinstance(item, pytest.Function) and "cluster" in item.fixturenames
        if tier == "unit" and uses_database:
            raise pytest.UsageError(
                f"{item.nodeid} uses the database: it belongs in tests/integration, not tests/unit"
            )


def tier_of(path: Path) -> str | None:
    """The tier of a test file under tests/, None outside the tier folders (tests/containers)."""
    if not path.is_relative_to(TESTS_DIR):
        return None
    folder = path.relative_to(TESTS_DIR).parts[0]
    return folder if folder in TIERS else None


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
    from tests.support.orchestrator_harness import build

    with TestClient(build(db_url)) as client:
        yield client
