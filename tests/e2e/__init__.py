"""End-to-end tier: our code as real processes (services, workers, Edge Functions under Deno,
the deploy CLI, container images) and/or a real Chromium driving the pages or the directory
sites. `make test-e2e`; the image tests (-m images) run in `make test-images`."""
