"""Benchmarks. Each reports ratios against a baseline measured in the same run, and memory;
timed assertions live here and never in tests/."""
