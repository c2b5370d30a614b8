"""python -m orchestrator: serve the orchestrator with uvicorn."""

from __future__ import annotations

from dbolt.serving import serve
from orchestrator.app import create_app
from orchestrator.settings import OrchestratorSettings


def main() -> None:
    serve(create_app, OrchestratorSettings())


if __name__ == "__main__":
    main()
