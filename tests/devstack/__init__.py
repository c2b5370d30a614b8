"""Devstack tier: the local stand-ins themselves (Stripe, Auth, Realtime, the Edge Functions
gateway, proxies, 2Captcha, the mail catcher, the directory sandbox) and their agreement with
the hosted services they stand for. `make test-devstack`."""
