"""`python -m worker canary [--directory ID ...] [--repeat]`: one canary round (every enabled
directory with a recipe, or the ones named), printed per directory with how long it took.

Exit status: 0 every dry run matched its baseline (or stored the first one); 1 at least one
failed a step or found the form changed (the orchestrator has raised `recipe_drift` and taken
it out of new jobs); 2 the round could not run (orchestrator unreachable, token refused).
`--repeat` runs a round every CANARY_INTERVAL_SECONDS until stopped (a machine without a
scheduler; Kubernetes runs one round per CronJob instead, deploy/k8s/base/canary.yaml)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

import httpx

from dbolt.orchestrator_client import OrchestratorError
from worker.canary.round import run_round
from worker.settings import WorkerSettings

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--directory",
        action="append",
        default=None,
        metavar="ID",
        help="dry run only this directory (repeatable); default: every one with a recipe",
    )
    parser.add_argument(
        "--repeat", action="store_true", help="a round every CANARY_INTERVAL_SECONDS"
    )


def _one_round(settings: WorkerSettings, only: set[str] | None) -> int:
    try:
        found = asyncio.run(run_round(settings, only))
    except (OrchestratorError, httpx.HTTPError) as error:
        print(f"error: the canary round could not run: {error}", file=sys.stderr)
        return 2
    except Exception:
        # The canary's own fault, not a site's: exit 2, never 1 (which says "drift").
        log.exception("canary round crashed", extra={"action": "canary.crashed"})
        return 2
    return 1 if found.drifted else 0


def run_arguments(args: argparse.Namespace) -> int:
    settings = WorkerSettings()
    only = set(args.directory) if args.directory else None
    if not args.repeat:
        return _one_round(settings, only)
    while True:
        _one_round(settings, only)
        # The next round starts an interval after this one ended, however long it took.
        asyncio.run(asyncio.sleep(settings.canary_interval_seconds))
