"""python -m orchestrator: serve the orchestrator with uvicorn."""

from __future__ import annotations

import uvicorn

from dbolt.log import configure_logging
from orchestrator.app import create_app
from orchestrator.settings import OrchestratorSettings


def main() -> None:
    settings = OrchestratorSettings()
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
