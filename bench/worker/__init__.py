"""Worker benchmark: successful sandbox submissions per minute for one worker with 1, 2 and 4
browser contexts, side by side in the same run with a bare Playwright loop that fills and
submits the same forms with no orchestration (the ratio), plus the worker's and Chromium's
memory (PSS) per context.

Everything runs as real processes on free loopback ports: the sandbox directories
(`python -m devstack.sandbox`), the orchestrator (`python -m orchestrator`) on a fresh clone of
the migrated database, one worker (`python -m worker`, CONTEXTS=n, polling: no Realtime, no
proxies, no captchas) per configuration, and the bare loop (`python -m bench.worker.bare`).
A background thread samples PSS and CPU of each measured process tree from /proc.

Run with `python -m bench.worker` (or `make bench-worker`); `--help` lists the options.
"""
