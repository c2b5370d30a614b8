"""pytest plugin (`-p tests.containers.plugin`) that runs the SQL contract tests against the
project's database image instead of the local cluster.

Its session fixture builds the image (cached, deploy/images/db/build.sh), starts it through
testcontainers on podman's Docker-compatible socket, and points devstack.localdb at it, so the
existing `cluster`/`db_url`/`conn` fixtures create and migrate their databases there exactly as
they do locally (bootstrap + `supabase db push --include-seed` + directories sync). Every test
that uses `db_url` then checks that the server answering it is the container (a file only the
image has), so nothing can run against the local cluster unnoticed.

Networking: the container shares the host's network namespace (containers.conf: netns=host)
and Postgres listens on 127.0.0.1 at a free port this fixture picks (PGPORT). Published ports
would need bridge networking, i.e. netavark writing iptables rules on a machine shared with
other engineers; host networking needs nothing and still binds loopback only.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import LogMessageWaitStrategy

from devstack import localdb
from tests.containers.podman_socket import podman_socket

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "deploy" / "images" / "db" / "build.sh"
# Written into the data directory at build time (deploy/images/db/Containerfile).
IMAGE_MARKER = "directorybolt-image"


@dataclass(frozen=True)
class DatabaseContainer:
    image: str
    port: int
    local_cluster_port: int
    container: DockerContainer


def _image() -> str:
    # make test-containers builds first (so the build shows); a bare pytest run builds here.
    if image := os.environ.get("DBOLT_DB_IMAGE"):
        return image
    built = subprocess.run([str(BUILD_SCRIPT)], check=True, capture_output=True, text=True)
    return built.stdout.strip()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def image_marker(url: str) -> str | None:
    """The image reference written into the server's data directory, None if there is none."""
    with psycopg.connect(url, connect_timeout=5) as conn:
        row = conn.execute(
            "select case when (pg_stat_file(%s, true)).size is not null then pg_read_file(%s) end",
            (IMAGE_MARKER, IMAGE_MARKER),
        ).fetchone()
    return row[0].strip() if row and row[0] else None


@pytest.fixture(scope="session", autouse=True)
def database_container() -> Iterator[DatabaseContainer]:
    image = _image()
    port = _free_port()
    local_cluster_port = localdb.PORT
    # The podman service started below reads it: runc, cgroupfs, the VM's ulimits, host netns.
    os.environ.setdefault("CONTAINERS_CONF", str(ROOT / "deploy" / "images" / "containers.conf"))
    with podman_socket() as docker_host:
        os.environ["DOCKER_HOST"] = docker_host
        # Ryuk (the reaper container) cannot be pulled here; the fixture removes its container.
        os.environ["TESTCONTAINERS_RYUK_DISABLED"] = "true"
        container = (
            DockerContainer(image)
            .with_env("PGPORT", str(port))
            .with_kwargs(network_mode="host")
            .waiting_for(
                LogMessageWaitStrategy(re.compile("database system is ready to accept connections"))
            )
        )
        with container:
            localdb.use_server(port)
            # For subprocesses that import devstack.localdb themselves.
            os.environ["LOCAL_DB_PORT"] = str(port)
            yield DatabaseContainer(image, port, local_cluster_port, container)


@pytest.fixture(autouse=True)
def _database_is_the_container(
    request: pytest.FixtureRequest, database_container: DatabaseContainer
) -> None:
    if "db_url" not in request.fixturenames:
        return
    url: str = request.getfixturevalue("db_url")
    assert urlsplit(url).port == database_container.port, url
    assert image_marker(url) == database_container.image, f"{url} is not the database image"
