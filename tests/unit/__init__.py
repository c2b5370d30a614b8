"""Unit tier: pure functions and models. No database, no servers or sockets, no browser; a test
may shell out to a read-only tool (git, `make -n`, `kubectl kustomize`). `make test-unit`."""
