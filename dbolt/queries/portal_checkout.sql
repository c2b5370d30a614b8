-- The portal's record of the Checkout Sessions it started (portal/routers/public.py, POST
-- /checkout) and the onboarding page's question before it asks Stripe about one
-- (portal/routers/onboarding.py, stripe_session). Service role.

-- name: pco_service_record_session
select public.checkout_sessions_record(session_id => %(session_id)s, tier => %(tier)s);

-- name: pco_service_session_issued
select public.checkout_sessions_issued(session_id => %(session_id)s) as issued;
