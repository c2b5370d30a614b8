"""Stand-in for the Supabase API gateway on 127.0.0.1:54321 (what `supabase start` serves).

Only as wide as DirectoryBolt uses it: the Auth JWKS, and Realtime's Phoenix v1 websocket for
private broadcast channels fed by `realtime.messages`. The Auth stand-in adds its routers to
`create_app`. Run it with `python -m devstack.supabase_api`.
"""

from __future__ import annotations

from devstack.supabase_api.app import create_app
from devstack.supabase_api.runtime import Settings

__all__ = ["Settings", "create_app"]
