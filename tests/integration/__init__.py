"""Integration tier: the real local Postgres, our services in-process (TestClient, or uvicorn in
a thread) with the stand-ins they talk to. The portal's PDF printing uses Chromium as a library
here, as it does in production; no test drives a browser. `make test-integration`."""
