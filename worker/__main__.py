"""`python -m worker` runs the worker; `python -m worker submit …` tries one directory entry
against one business by hand, without the queue (worker/submit_cli.py); `python -m worker
scout URL` scouts a page without submitting, and `signatures` checks stored form signatures
(worker/scout/cli.py); `scouts [--once]` runs the scouts staff queue on the dashboard
(worker/scout/queue.py); `canary` dry runs every enabled recipe once and reports drift
(worker/canary/cli.py)."""

import argparse
import sys

from worker import submit_cli
from worker.canary import cli as canary_cli
from worker.main import main
from worker.scout import cli as scout_cli
from worker.scout import queue as scout_queue


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m worker",
        description="Without a command: claim jobs from the orchestrator and work them.",
    )
    commands = parser.add_subparsers(dest="command")
    submit = commands.add_parser(
        "submit", help="run one directory entry against a business, without the queue"
    )
    submit_cli.add_arguments(submit)
    scout = commands.add_parser("scout", help="a page's form signature and a recipe draft")
    scout_cli.add_scout_arguments(scout)
    signatures = commands.add_parser("signatures", help="stored form signatures vs live pages")
    scout_cli.add_signature_arguments(signatures)
    canary = commands.add_parser("canary", help="one dry run of every enabled recipe")
    canary_cli.add_arguments(canary)
    scouts = commands.add_parser("scouts", help="run the scouts staff queue on the dashboard")
    scout_queue.add_arguments(scouts)
    return parser


args = _parser().parse_args()
if args.command == "submit":
    sys.exit(submit_cli.run_arguments(args))
if args.command == "scout":
    sys.exit(scout_cli.run_scout_arguments(args))
if args.command == "signatures":
    sys.exit(scout_cli.run_signature_arguments(args))
if args.command == "canary":
    sys.exit(canary_cli.run_arguments(args))
if args.command == "scouts":
    sys.exit(scout_queue.run_arguments(args))
main()
