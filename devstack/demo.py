"""`make demo`: buy a package for the sample business, enqueue its job, and watch it work.

Needs `make up` running. Prints each directory as its state changes, then the summary and
where to see the job in the portal: the customer's job page and report, the staff drill-down,
and how to sign in to each locally.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from typing import Any

import httpx
import psycopg

from dbolt.words import count_of
from devstack import localdb
from devstack.up import MAIL_URL, ORCHESTRATOR_PORT, PORTAL_URL, STAFF_API_KEY, STAFF_EMAIL


def create_job(database_url: str, tier: str, email: str) -> str:
    with psycopg.connect(database_url, autocommit=True) as conn:
        order = conn.execute("select dev.create_paid_order(%s, %s)", (email, tier)).fetchone()
        assert order is not None
        job = conn.execute("select id from jobs_enqueue(%s)", (order[0],)).fetchone()
        assert job is not None
        return str(job[0])


RESTING = ("complete", "waiting", "failed", "cancelled")
# What a resting job's state means to someone watching the demo.
AFTERWORD = {
    "waiting": "what is left waits for the directories' emails or reviews; the job carries on"
    " by itself when they come (watch it on the job page)",
}


def watch(orchestrator_url: str, staff_api_key: str, job_id: str, timeout: float) -> dict[str, Any]:
    staff = httpx.Client(
        base_url=orchestrator_url,
        headers={"Authorization": f"Bearer {staff_api_key}", "X-Actor": "demo"},
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
        # `waiting`: nothing is left for a worker; the rest waits for directories' emails or
        # reviews (hours or days on real sites), so the demo has seen all it can show now.
        if detail["job"]["status"] in RESTING:
            break
        time.sleep(1)
    return detail


def where_to_look(job_id: str, email: str, portal_url: str = PORTAL_URL) -> list[str]:
    """The closing lines: the job in the portal, as its customer and as staff."""
    job = f"{portal_url}/jobs/{job_id}"
    return [
        "",
        "See it in the portal:",
        f"  job page   {job}",
        f"  report     {job}/report  (PDF: {job}/report.pdf)",
        f"  staff      {portal_url}/staff/jobs/{job_id}",
        "",
        f"Sign in as the customer at {portal_url}/sign-in?next=/jobs/{job_id} with {email},",
        f"or as staff at {portal_url}/sign-in?next=/staff/jobs/{job_id} with {STAFF_EMAIL};",
        f"the 6-digit code (and a sign-in link) arrives in the mail inbox at {MAIL_URL},",
        "with the customer's emails about this job.",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument("--tier", default="professional")
    parser.add_argument("--email", default=f"demo-{uuid.uuid4().hex[:8]}@bluebird-bakery.example")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--database-url", default=localdb.database_url())
    parser.add_argument("--orchestrator-url", default=f"http://127.0.0.1:{ORCHESTRATOR_PORT}")
    parser.add_argument("--staff-api-key", default=STAFF_API_KEY)
    parser.add_argument("--portal-url", default=PORTAL_URL)
    args = parser.parse_args(argv)
    job_id = create_job(args.database_url, args.tier, args.email)
    print(f"job {job_id} ({args.tier}) for {args.email} is pending; watching it:\n", flush=True)
    detail = watch(args.orchestrator_url, args.staff_api_key, job_id, args.timeout)
    status = detail.get("job", {}).get("status")
    counts: dict[str, int] = {}
    for directory in detail.get("directories", []):
        counts[directory["status"]] = counts.get(directory["status"], 0) + 1
    states = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    print(f"\njob {status}: {count_of(sum(counts.values()), 'directory')} ({states})")
    if status in AFTERWORD:
        print(AFTERWORD[status])
    for line in where_to_look(job_id, args.email, args.portal_url):
        print(line)
    return 0 if status in ("complete", "waiting") else 1


if __name__ == "__main__":
    sys.exit(main())
