"""`make demo`: buy a package for the sample business, enqueue its job, and watch it work.

Needs `make up` running. Prints each directory as its state changes, then the summary.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from typing import Any

import httpx
import psycopg

from devstack import localdb
from devstack.up import ORCHESTRATOR_PORT, STAFF_API_KEY


def create_job(tier: str, email: str) -> str:
    with psycopg.connect(localdb.database_url(), autocommit=True) as conn:
        order = conn.execute("select dev.create_paid_order(%s, %s)", (email, tier)).fetchone()
        assert order is not None
        job = conn.execute("select id from jobs_enqueue(%s)", (order[0],)).fetchone()
        assert job is not None
        return str(job[0])


def watch(job_id: str, timeout: float) -> dict[str, Any]:
    staff = httpx.Client(
        base_url=f"http://127.0.0.1:{ORCHESTRATOR_PORT}",
        headers={"Authorization": f"Bearer {STAFF_API_KEY}", "X-Actor": "demo"},
        timeout=10,
    )
    seen: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    detail: dict[str, Any] = {}
    while time.monotonic() < deadline:
        detail = staff.get(f"/jobs/{job_id}").json()
        for directory in detail["directories"]:
            state = directory["status"]
            if seen.get(directory["directory_id"]) != state:
                seen[directory["directory_id"]] = state
                extra = directory["last_error_code"] or directory["listing_url"] or ""
                print(f"  {directory['directory_id']:<28} {state:<13} {extra}", flush=True)
        if detail["job"]["status"] in ("complete", "failed", "cancelled"):
            break
        time.sleep(1)
    return detail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument("--tier", default="professional")
    parser.add_argument("--email", default=f"demo-{uuid.uuid4().hex[:8]}@bluebird-bakery.example")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args(argv)
    job_id = create_job(args.tier, args.email)
    print(f"job {job_id} ({args.tier}) for {args.email} is pending; watching it:\n", flush=True)
    detail = watch(job_id, args.timeout)
    status = detail.get("job", {}).get("status")
    counts: dict[str, int] = {}
    for directory in detail.get("directories", []):
        counts[directory["status"]] = counts.get(directory["status"], 0) + 1
    print(f"\njob {status}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    print(
        f"details: curl -H 'Authorization: Bearer {STAFF_API_KEY}' "
        f"http://127.0.0.1:{ORCHESTRATOR_PORT}/jobs/{job_id}"
    )
    return 0 if status == "complete" else 1


if __name__ == "__main__":
    sys.exit(main())
