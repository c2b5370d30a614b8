"""Webhook benchmark: what HTTP + Stripe signature verification + FastAPI cost over calling
`stripe_events_apply` directly.

The load is signed `checkout.session.completed` events (distinct ids, distinct Checkout
Sessions, each a new paid order), signed exactly as Stripe signs them
(`Stripe-Signature: t=<unix>,v1=hex(HMAC_SHA256(secret, f"{t}.{payload}"))`). Two paths apply
the same events at concurrency 1, 8 and 32, in the same run, each on its own fresh database:

- HTTP: `POST /stripe/webhook` to a real `python -m webhook` subprocess on a free loopback
  port (one keep-alive connection per concurrent sender);
- direct: the receiver's own named query (`stripe_events_apply`, i.e.
  `select stripe_events_apply(%(event)s::jsonb)`) on a psycopg async pool of the same size
  and settings, from the same number of asyncio tasks.

Then replays: every event of one level again (same id, freshly signed, as Stripe re-signs a
retry), which must come back `duplicate: true` and change nothing.

The notifier runs in the webhook process as in production (woken by every paid order), with
SMTP_URL pointed at a mail catcher (`python -m devstack.mailcatcher`) and SUPABASE_URL at the
Auth stand-in (`python -m devstack.supabase_api`), both subprocesses on free ports, so no mail
leaves the machine and the payment emails really are composed and sent (to the catcher).
`--notifier off` points SUPABASE_URL and SMTP_URL at a closed port instead: each payment email
then fails at its first step and waits 30 s (more than any level lasts) before its retry.

Run with `python -m bench.webhook` (or `make bench-webhook`); `--help` lists the options.
"""
