"""`make deploy TARGET=local`, end to end: the images of this commit run under `podman kube
play` from the rendered `local` overlay (deploy/podman_adapt.py lists what podman 4.3 needs
changed), against the e2e harness's stand-ins and a fresh database. A paid order's job is
worked by the two containerised workers through the containerised orchestrator; one
worker's pod is stopped mid-job as Kubernetes stops a pod (SIGTERM, then its grace period):
it releases the job, the other worker finishes it, and no directory accepts the business
twice. Needs `make images` (make test-images builds them first)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import psycopg
import pytest

from dbolt.sql import Queries
from deploy import rehearsal
from tests.support.e2e_stack import ROOT, Stack, job_audit, running_stack, wait_for_job, wait_until
from tests.support.orchestrator_harness import STAFF_KEY, WORKER_TOKEN
from tests.support.queue_helpers import create_job

# Images start, a job runs over every sandbox directory: minutes on a loaded machine.
pytestmark = [pytest.mark.images, pytest.mark.slow, pytest.mark.timeout(900)]


def _overrides(stack: Stack) -> dict[str, str]:
    """The harness's addresses and keys in place of `make up`'s (ports are free ones here)."""
    return {
        "DATABASE_URL": stack.db_url,
        "WORKER_TOKEN": WORKER_TOKEN,
        "STAFF_API_KEY": STAFF_KEY,
        "SUPABASE_URL": stack.url("supabase"),
        "TWOCAPTCHA_BASE_URL": stack.url("captcha"),
        "PROXY_URLS": stack.proxy_urls,
        "SMTP_URL": stack.smtp_url,
        "WORKER_ALLOWED_PRIVATE_HOSTS": f"127.0.0.1:{stack.ports['sandbox']},127.0.0.1:2",
    }


def _claimants(stack: Stack, job_id: str) -> list[str]:
    return [
        a["actor"].removeprefix("worker:")
        for a in job_audit(stack, job_id)
        if a["action"] == "job.claimed"
    ]


def test_a_paid_order_is_worked_by_the_containerised_stack_and_survives_a_pod_stop(
    db_url: str, tmp_path: Path
) -> None:
    timings: dict[str, float] = {}
    with running_stack(db_url, tmp_path, orchestrator=False, mail=True) as stack:
        stack.sync_sandbox_directories()
        env_file = tmp_path / "rehearsal.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in _overrides(stack).items()))
        began = time.monotonic()
        try:
            deployed = subprocess.run(
                [sys.executable, "-m", "deploy", "local", "--yes"],
                cwd=ROOT,
                env=os.environ | {"REHEARSAL_ENV_FILE": str(env_file)},
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            assert deployed.returncode == 0, deployed.stdout + deployed.stderr
            timings["rehearsal up"] = time.monotonic() - began
            pods = {pod.name: pod for pod in rehearsal.read_pods()}
            assert {"orchestrator-0-pod-0", "worker-0-pod-0", "worker-1-pod-0"} <= set(pods)
            # The plan said what podman needed changed.
            assert "podman 4.3: hostNetwork" in deployed.stdout

            # Every HTTP service of the overlay answers from its container.
            for pod in pods.values():
                assert pod.health_url is not None
                assert httpx.get(pod.health_url, timeout=5).status_code == 200, pod.name
            orchestrator = pods["orchestrator-0-pod-0"].health_url
            assert orchestrator is not None
            stack.ports["orchestrator"] = int(orchestrator.rsplit(":", 1)[1].split("/")[0])

            with psycopg.connect(stack.db_url, autocommit=True) as conn:
                job_id = str(
                    create_job(
                        conn, Queries.load(), tier="professional", email="owner@bluebird.example"
                    )
                )
            job_began = time.monotonic()
            claimed = wait_until(lambda: _claimants(stack, job_id), 120, "a worker claiming it")
            first = claimed[0]
            # Mid-job: some directories accepted it, others are still to come.
            wait_until(lambda: len(stack.submissions()) >= 3, 120, "three accepted submissions")
            assert wait_for_job(stack, job_id, {"in_progress"}, timeout=5)["job"]["status"] == (
                "in_progress"
            )
            doomed = pods[f"{first.rsplit('-', 1)[0]}-pod-0"]
            timings["stop (SIGTERM → exit)"] = rehearsal.stop_pod(doomed)
            assert timings["stop (SIGTERM → exit)"] < doomed.stop_seconds

            released = [a for a in job_audit(stack, job_id) if a["action"] == "job.released"]
            assert released, "the stopped worker released its job"
            assert released[0]["actor"] == f"worker:{first}"
            assert released[0]["details"] == {"reason": "worker shutting down"}

            detail = wait_for_job(stack, job_id, {"complete", "failed"}, timeout=420)
            timings["job"] = time.monotonic() - job_began
            assert detail["job"]["status"] == "complete"
            claimants = _claimants(stack, job_id)
            assert claimants[0] == first
            assert claimants[-1] != first
            assert claimants[-1].startswith("worker-")
            assert all(d["status"] not in ("queued", "in_progress") for d in detail["directories"])
            accepted = Counter(s["site"] for s in stack.submissions())
            assert accepted
            assert set(accepted.values()) == {1}, f"a directory accepted twice: {accepted}"
        except BaseException:
            for pod in rehearsal.read_pods():
                print(f"--- {pod.name}\n{rehearsal.pod_logs(pod.name)[-3000:]}")
            raise
        finally:
            rehearsal.down()
            print(f"\nrehearsal timings: {', '.join(f'{k} {v:.1f} s' for k, v in timings.items())}")
