"""`dbolt`: the operator's command line. Later parts add subcommands here."""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
from pydantic import SecretStr

from dbolt.auth_admin import AuthAdminError, StaffAccount, set_staff_role
from dbolt.directories import (
    DEFAULT_DIRECTORIES,
    DirectoryListError,
    load_directories,
    sync_directories,
)
from dbolt.directory_export import entry_json
from dbolt.settings import DatabaseSettingsMixin, InsecureProductionSettings, ServiceSettings
from dbolt.sql import DomainError, Queries
from dbolt.words import count_of


class DatabaseCommandSettings(DatabaseSettingsMixin, ServiceSettings):
    """What the directories and queue commands read: DATABASE_URL."""


class StaffCommandSettings(ServiceSettings):
    """What `dbolt staff` reads: Auth's address and service role key, and the portal's address
    for the sign-in hint."""

    supabase_url: str = "http://127.0.0.1:54321"
    supabase_service_role_key: SecretStr = SecretStr("")
    portal_url: str = "http://127.0.0.1:8300"


def _connect() -> psycopg.Connection[tuple[object, ...]]:
    # Settings are read here, not in main(): only the commands that touch the database need
    # (and, in production, are refused without) a real DATABASE_URL. Against the local stack
    # say ENVIRONMENT=development (`make directories-sync` does).
    settings = DatabaseCommandSettings()
    return psycopg.connect(settings.database_url.get_secret_value(), autocommit=True)


def _directories_validate(args: argparse.Namespace) -> int:
    entries = load_directories(args.file)
    enabled = sum(1 for entry in entries if entry["enabled"])
    print(f"{args.file}: {count_of(len(entries), 'directory')}, {enabled} enabled — valid")
    return 0


def _directories_sync(args: argparse.Namespace) -> int:
    entries = load_directories(args.file)
    with _connect() as conn:
        result = sync_directories(conn, entries)
    print(
        f"synced {args.file}: {result['upserted']} upserted, "
        f"{result['disabled']} disabled (no longer listed)"
    )
    return 0


def _directories_scout(args: argparse.Namespace) -> int:
    # The browser work is the worker's (worker/scout/): run as its own process, since the
    # shared library never imports a service. Its JSON, errors and exit status pass through.
    command = [sys.executable, "-m", "worker", "scout"]
    if args.out is not None:
        command += ["--out", str(args.out)]
    # `--`: a URL starting with "-" is the URL, never an option of the worker's command.
    command += ["--", args.url]
    return subprocess.run(command, check=False).returncode


def _directories_export(args: argparse.Namespace) -> int:
    with _connect() as conn:
        row = Queries.load().fetch_one(conn, "directories_get_export", directory_id=args.id)
    if row is None:
        print(f"error: no directory {args.id!r} in the database", file=sys.stderr)
        return 1
    print(entry_json(row["directory"]))
    return 0


def _queue_stats(args: argparse.Namespace) -> int:
    with _connect() as conn:
        row = Queries.load().fetch_one(conn, "queue_stats")
    assert row is not None
    print(json.dumps(row["stats"], indent=2, sort_keys=True))
    return 0


def _queue_reap(args: argparse.Namespace) -> int:
    with _connect() as conn:
        rows = Queries.load().fetch_all(
            conn, "jobs_reap_expired", max_lost_leases=args.max_lost_leases
        )
    for row in rows:
        print(f"{row['job_id']} -> {row['status']} (lost leases: {row['lost_leases']})")
    print(f"reaped {len(rows)} expired leases")
    return 0


def _staff(args: argparse.Namespace) -> int:
    """Prints what happened and how to sign in."""
    settings = StaffCommandSettings()

    async def call() -> StaffAccount:
        async with httpx.AsyncClient(timeout=10.0) as http:
            return await set_staff_role(
                http,
                settings.supabase_url,
                settings.supabase_service_role_key.get_secret_value(),
                args.email,
                revoke=args.revoke,
            )

    try:
        account = asyncio.run(call())
    except httpx.HTTPError as error:
        print(f"error: Auth at {settings.supabase_url} is unreachable: {type(error).__name__}")
        return 1
    except (AuthAdminError, ValueError) as error:
        print(f"error: {error}")
        return 1
    if args.revoke:
        print(f"{account.email} ({account.user_id}) is no longer staff")
        return 0
    verb = "created" if account.created else "promoted"
    print(f"{account.email} ({account.user_id}) {verb}: app_metadata.role = {account.app_role}")
    print(
        f"Sign in at {settings.portal_url}/sign-in with {account.email} (a magic link or code "
        f"is emailed), then open {settings.portal_url}/staff (a session signed in before this "
        "sees the role at its next token refresh)"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dbolt", description="DirectoryBolt operations")
    groups = parser.add_subparsers(dest="group", required=True)

    directories = groups.add_parser("directories", help="the master directory list")
    directory_commands = directories.add_subparsers(dest="command", required=True)
    for name, handler, text in [
        ("validate", _directories_validate, "check directories.json against its schema"),
        ("sync", _directories_sync, "validate, then upsert into the database"),
    ]:
        command = directory_commands.add_parser(name, help=text)
        command.add_argument("--file", type=Path, default=DEFAULT_DIRECTORIES)
        command.set_defaults(handler=handler)
    scout = directory_commands.add_parser(
        "scout",
        help="open a submit page, never submitting: its form signature, walls, captcha, "
        "steps and a recipe draft as JSON, with screenshots",
    )
    scout.add_argument("url", help="the page to scout (http or https, a public address)")
    scout.add_argument("--out", type=Path, default=None, help="screenshots (default: a temp dir)")
    scout.set_defaults(handler=_directories_scout)
    export = directory_commands.add_parser(
        "export", help="print a database entry (e.g. a saved scout draft) as directories.json JSON"
    )
    export.add_argument("id", help="the directory's id")
    export.set_defaults(handler=_directories_export)

    queue = groups.add_parser("queue", help="inspect and maintain the job queue")
    queue_commands = queue.add_subparsers(dest="command", required=True)
    stats = queue_commands.add_parser("stats", help="print queue_stats() as JSON")
    stats.set_defaults(handler=_queue_stats)
    reap = queue_commands.add_parser("reap", help="return expired leases to pending")
    reap.add_argument("--max-lost-leases", type=int, default=3)
    reap.set_defaults(handler=_queue_reap)

    staff = groups.add_parser(
        "staff", help="create or promote an Auth user to staff (Auth admin API, service role key)"
    )
    staff.add_argument("email")
    staff.add_argument("--revoke", action="store_true", help="take the staff role away")
    staff.set_defaults(handler=_staff)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except (DirectoryListError, InsecureProductionSettings) as error:
        print(error, file=sys.stderr)
        return 2
    except DomainError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
