"""python -m webhook: serve the Stripe webhook receiver (and its notifier) with uvicorn."""

from __future__ import annotations

from dbolt.serving import serve
from webhook.app import create_app
from webhook.settings import WebhookSettings


def main() -> None:
    serve(create_app, WebhookSettings())


if __name__ == "__main__":
    main()
