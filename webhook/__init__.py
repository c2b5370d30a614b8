"""The Stripe webhook receiver: verifies signatures and records each event once."""
