"""python -m webhook: serve the Stripe webhook receiver (and its notifier) with uvicorn."""

from __future__ import annotations

import uvicorn

from dbolt.log import configure_logging
from webhook.app import create_app
from webhook.settings import WebhookSettings


def main() -> None:
    settings = WebhookSettings()
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
