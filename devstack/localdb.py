"""The project's own PostgreSQL 15 cluster, shaped like a Supabase project's database.

`supabase start` needs Docker, which this machine lacks, so `make db` runs this instead:
a cluster under `.local/pg` on 127.0.0.1:54322 (the port `supabase start` uses), the Supabase
bootstrap from `devstack/supabase_bootstrap.sql`, then our migrations applied by the real
supabase CLI (so its migration history table is the one a hosted project keeps), then
`supabase/seed.sql`, then `directories.json`.

Tests and pgTAP get their own databases cloned from a template database (`fresh NAME`),
which is rebuilt whenever the bootstrap, migrations, seed or directory list change.

Usage: python -m devstack.localdb {up|down|reset|url|prepare NAME|fresh NAME}
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
# Overridable so a test can run a private cluster it is free to stop (the outage test).
CLUSTER_LINK = Path(os.environ.get("LOCAL_DB_DIR", str(ROOT / ".local" / "pg")))
PORT = int(os.environ.get("LOCAL_DB_PORT", "54322"))
BOOTSTRAP_SQL = Path(__file__).with_name("supabase_bootstrap.sql")
SUPABASE_CLI = ROOT / "node_modules" / ".bin" / "supabase"
TEMPLATE_DB = "dbolt_template"
# Set by use_server(): the server is someone else's (the database image under testcontainers,
# tests/containers/plugin.py), so start() only waits for it and stop() leaves it alone.
_external_server = False

# Durability is worthless for a throwaway dev/test cluster; these make it start and run fast.
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "port": str(PORT),
    "wal_level": "logical",
    "max_connections": "300",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "256MB",
    "max_wal_senders": "10",
    "max_replication_slots": "10",
    "log_min_messages": "warning",
    "timezone": "'UTC'",
}


def database_url(dbname: str = "postgres") -> str:
    return f"postgresql://postgres:postgres@127.0.0.1:{PORT}/{dbname}"


def _as_postgres_user(args: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI and this machine run as root.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


def _run(args: list[str], **kwargs: object) -> None:
    # cwd "/": the postgres user may not be allowed into the caller's working directory.
    subprocess.run(args, check=True, cwd="/", **kwargs)  # type: ignore[call-overload]


def _cluster_dir() -> Path:
    # Resolved, because the server (running as `postgres`) may not be able to pass through a
    # checkout under a private home directory; see _make_cluster_dir.
    return CLUSTER_LINK.resolve()


def _postgres_can_reach(path: Path) -> bool:
    probe = subprocess.run(
        ["runuser", "-u", "postgres", "--", "test", "-x", str(path)], check=False
    )
    return probe.returncode == 0


def _make_cluster_dir() -> Path:
    """Create the cluster directory where the `postgres` OS user can reach it.

    As root the server runs as `postgres`, which cannot enter a checkout below, say, /root.
    Then the cluster lives under /var/tmp and `.local/pg` is a symlink to it.
    """
    CLUSTER_LINK.parent.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or _postgres_can_reach(CLUSTER_LINK.parent):
        CLUSTER_LINK.mkdir(exist_ok=True)
    else:
        suffix = hashlib.sha256(str(CLUSTER_LINK.absolute()).encode()).hexdigest()[:10]
        # A fixed root-owned path on purpose: the postgres user must be able to reach it.
        outside = Path("/var/tmp") / f"directorybolt-{suffix}" / "pg"  # noqa: S108
        # Left by an earlier checkout at this same path: a throwaway cluster, start afresh.
        shutil.rmtree(outside, ignore_errors=True)
        outside.mkdir(parents=True, exist_ok=True)
        shutil.chown(outside.parent, "postgres", "postgres")
        if CLUSTER_LINK.is_symlink() or CLUSTER_LINK.exists():
            CLUSTER_LINK.unlink()
        CLUSTER_LINK.symlink_to(outside, target_is_directory=True)
    cluster = _cluster_dir()
    (cluster / "run").mkdir(exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(cluster, "postgres", "postgres")
        shutil.chown(cluster / "run", "postgres", "postgres")
    return cluster


def _initdb() -> None:
    cluster = _make_cluster_dir()
    _run(
        _as_postgres_user(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(cluster / "data"),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ]
        ),
        stdout=subprocess.DEVNULL,
    )
    settings = "".join(f"{key} = {value}\n" for key, value in SERVER_SETTINGS.items())
    settings += f"unix_socket_directories = '{cluster / 'run'}'\n"
    with (cluster / "data" / "postgresql.conf").open("a") as conf:
        conf.write("\n# devstack/localdb.py\n" + settings)


def _is_running() -> bool:
    data_dir = _cluster_dir() / "data"
    if not data_dir.exists():
        return False
    status = subprocess.run(
        _as_postgres_user([str(PG_BIN / "pg_ctl"), "-D", str(data_dir), "status"]),
        capture_output=True,
        check=False,
        cwd="/",
    )
    return status.returncode == 0


def _port_holder(port: int) -> str | None:
    """What listens on 127.0.0.1:`port` (a process and, for a PostgreSQL, its data directory),
    or None when the port is free."""
    with socket.socket() as probe:
        probe.settimeout(1)
        if probe.connect_ex(("127.0.0.1", port)) != 0:
            return None
    try:
        listing = subprocess.run(
            ["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=False
        ).stdout
    except OSError:  # no `ss` (iproute2) here: the port is still named, its holder is not
        listing = ""
    match = re.search(r'users:\(\("([^"]+)",pid=(\d+)', listing)
    if match is None:
        return "another program"
    name, pid = match.groups()
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        data = argv[argv.index(b"-D") + 1].decode() if b"-D" in argv else None
    except (OSError, IndexError):
        data = None
    return f"{name} (pid {pid}" + (f", data directory {data})" if data else ")")


def _refuse_taken_port() -> None:
    holder = _port_holder(PORT)
    if holder is not None:
        raise SystemExit(
            f"Port {PORT} is taken by {holder}, so this checkout's database cannot start there. "
            "If it is another checkout's cluster, stop it there with `make db-down`; or give "
            f"this checkout its own port: LOCAL_DB_PORT=55432 make test (or make db)."
        )


def use_server(port: int) -> None:
    """Point this module (database_url, fresh, prepare) at a server on 127.0.0.1:`port` that
    is not our cluster under .local/pg; that cluster is then never started nor initialised."""
    global PORT, _external_server
    PORT = port
    _external_server = True


def start() -> None:
    """Start the cluster if it is not running (idempotent; parallel test processes may call
    it at once: one starts it, the others wait on the lock and find it running)."""
    if _external_server:
        _wait_until_ready()
        return
    if _is_running():
        # Another process may have just started it and still be waiting for it to accept.
        _wait_until_ready()
        return
    CLUSTER_LINK.parent.mkdir(parents=True, exist_ok=True)
    with (CLUSTER_LINK.parent / f".{CLUSTER_LINK.name}.start.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _is_running():
            _start_cluster()


def _start_cluster() -> None:
    # A cluster of another checkout (or anything else) on our port would make pg_ctl fail
    # with a traceback that says nothing useful: say what holds it and what to do.
    _refuse_taken_port()
    if not (_cluster_dir() / "data" / "PG_VERSION").exists():
        _initdb()
    cluster = _cluster_dir()
    _run(
        _as_postgres_user(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(cluster / "data"),
                "-l",
                str(cluster / "server.log"),
                "-w",
                "start",
            ]
        ),
        stdout=subprocess.DEVNULL,
    )
    _wait_until_ready()


def stop() -> None:
    if not _external_server and _is_running():
        _run(
            _as_postgres_user(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(_cluster_dir() / "data"),
                    "-m",
                    "fast",
                    "-w",
                    "stop",
                ]
            ),
            stdout=subprocess.DEVNULL,
        )


def _wait_until_ready(timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(database_url(), connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _apply_bootstrap(dbname: str) -> None:
    with psycopg.connect(database_url(dbname), autocommit=True) as conn:
        conn.execute(BOOTSTRAP_SQL.read_text())
        conn.execute(BOOTSTRAP_SQL.with_name("realtime_notify.sql").read_text())
        # pgTAP is only in the test tool chain; a database without it is still a good one.
        available = conn.execute(
            "select 1 from pg_available_extensions where name = 'pgtap'"
        ).fetchone()
        if available:
            conn.execute("create extension if not exists pgtap with schema extensions")


def _apply_migrations(dbname: str) -> None:
    """Apply supabase/migrations and supabase/seed.sql with the real supabase CLI."""
    if not SUPABASE_CLI.exists():
        sys.exit("supabase CLI missing: run `npm ci` (make deps does) first")
    result = subprocess.run(
        [
            str(SUPABASE_CLI),
            "db",
            "push",
            "--db-url",
            database_url(dbname) + "?sslmode=disable",
            "--include-seed",
            "--yes",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        # The CLI's chatter is noise when it works and the whole story when it fails.
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"supabase db push failed for database {dbname}")


def _sync_directories(dbname: str) -> None:
    from dbolt.directories import load_directories, sync_directories

    with psycopg.connect(database_url(dbname)) as conn:
        sync_directories(conn, load_directories(ROOT / "directories.json"))


def prepare(dbname: str) -> None:
    """Create `dbname` if needed and bring it to the current schema, seed and directory list."""
    start()
    with psycopg.connect(database_url(), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (dbname,)).fetchone()
        if not exists:
            conn.execute(f'create database "{dbname}"')
    _apply_bootstrap(dbname)
    _apply_migrations(dbname)
    _sync_directories(dbname)


def _schema_digest() -> str:
    """Changes whenever anything that shapes a prepared database changes."""
    digest = hashlib.sha256()
    inputs = [
        BOOTSTRAP_SQL,
        BOOTSTRAP_SQL.with_name("realtime_notify.sql"),
        *sorted((ROOT / "supabase" / "migrations").glob("*.sql")),
        ROOT / "supabase" / "seed.sql",
        ROOT / "directories.json",
    ]
    for path in inputs:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def _ensure_template() -> None:
    digest = _schema_digest()
    # Several test processes may ask at once; one rebuilds, the others wait and reuse it.
    with psycopg.connect(database_url(), autocommit=True) as lock_conn:
        lock_conn.execute("select pg_advisory_lock(hashtext(%s))", (TEMPLATE_DB,))
        row = lock_conn.execute(
            "select shobj_description(oid, 'pg_database') from pg_database where datname = %s",
            (TEMPLATE_DB,),
        ).fetchone()
        if row is not None and row[0] == digest:
            return
        lock_conn.execute(f'drop database if exists "{TEMPLATE_DB}" with (force)')
        prepare(TEMPLATE_DB)
        lock_conn.execute(f"comment on database \"{TEMPLATE_DB}\" is '{digest}'")


def fresh(dbname: str) -> str:
    """Drop `dbname` and clone it from the (up-to-date) template; returns its URL."""
    start()
    _ensure_template()
    with psycopg.connect(database_url(), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{dbname}" with (force)')
        conn.execute(f'create database "{dbname}" template "{TEMPLATE_DB}"')
    return database_url(dbname)


def reset() -> None:
    stop()
    shutil.rmtree(_cluster_dir(), ignore_errors=True)
    if CLUSTER_LINK.is_symlink():
        CLUSTER_LINK.unlink()
    prepare("postgres")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.localdb", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start the cluster and migrate the postgres database")
    sub.add_parser("down", help="stop the cluster")
    sub.add_parser("reset", help="delete the cluster and build it again from scratch")
    sub.add_parser("url", help="print DATABASE_URL")
    prepare_cmd = sub.add_parser("prepare", help="create and migrate another database")
    prepare_cmd.add_argument("dbname")
    fresh_cmd = sub.add_parser("fresh", help="recreate a database as a copy of the template")
    fresh_cmd.add_argument("dbname")
    args = parser.parse_args(argv)

    if args.command == "up":
        prepare("postgres")
    elif args.command == "down":
        stop()
    elif args.command == "reset":
        reset()
    elif args.command == "prepare":
        prepare(args.dbname)
    elif args.command == "fresh":
        fresh(args.dbname)
    if args.command != "down":
        print(f"DATABASE_URL={database_url(getattr(args, 'dbname', 'postgres'))}")


if __name__ == "__main__":
    main()
