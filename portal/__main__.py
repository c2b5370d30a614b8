"""python -m portal: serve the customer portal and staff dashboard with uvicorn."""

from __future__ import annotations

import uvicorn

from dbolt.log import configure_logging
from portal.app import create_app
from portal.settings import PortalSettings


def main() -> None:
    settings = PortalSettings()
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
