-- The Checkout Sessions the portal started (portal/routers/public.py, POST /checkout), so the
-- onboarding page (portal/routers/onboarding.py) never asks Stripe about one the site did not
-- issue. Service role.

-- name: checkout_sessions_record
select public.checkout_sessions_record(session_id => %(session_id)s, tier => %(tier)s);

-- name: checkout_sessions_issued
select public.checkout_sessions_issued(session_id => %(session_id)s) as issued;
