"""python -m portal: serve the customer portal and staff dashboard with uvicorn."""

from __future__ import annotations

from dbolt.serving import serve
from portal.app import create_app
from portal.settings import PortalSettings


def main() -> None:
    serve(create_app, PortalSettings())


if __name__ == "__main__":
    main()
