"""Dispatch latency: a customer saves the Business Info Form → the job is pending → an idle
worker hears `job_available` on Realtime → it claims the job → its first attempt starts.

Real processes (tests/support/e2e_stack.py): the orchestrator, the Supabase stand-in
(Realtime), the sandbox and real workers with Chromium. The baseline, in the same run and
alternating with it, is the same workers with Realtime down: they find work by polling
(worker settings POLL_MIN_SECONDS … POLL_MAX_SECONDS, jittered x0.5-1.5).
"""
