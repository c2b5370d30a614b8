"""The Stripe webhook receiver: verifies signatures, applies each event once (one SQL call),
and, in a background loop of the same process, sends the customer emails queued in the
notifications outbox (payment received with a sign-in link, job started/complete, needs
action)."""
