"""The return from Stripe Checkout: what Stripe says about the session (stripe_lookup), what the
onboarding page shows (pages), and signing the buyer in once per order (buyer_sign_in)."""
