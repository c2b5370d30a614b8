"""python -m orchestrator: serve the orchestrator with uvicorn."""

from __future__ import annotations

from dbolt.serving import serve
from orchestrator.app import create_app
from orchestrator.settings import OrchestratorSettings


def main() -> None:
    # uvloop and httptools: the worker API's hot path spends much of its CPU in the event
    # loop and HTTP parsing (bench/orchestrator: `make bench-orchestrator`).
    serve(create_app, OrchestratorSettings(), loop="uvloop", http="httptools")


if __name__ == "__main__":
    main()
