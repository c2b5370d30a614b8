"""`python -m worker` runs the worker; `python -m worker submit …` tries one directory entry
against one business by hand, without the queue (worker/submit_cli.py)."""

import argparse
import sys

from worker import submit_cli
from worker.main import main


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
    return parser


args = _parser().parse_args()
if args.command == "submit":
    sys.exit(submit_cli.run_arguments(args))
main()
