"""Tests against the project's database image, run through testcontainers (make test-containers)."""
