"""The Auth stand-in's router: GoTrue's endpoints under /auth/v1, as supabase-py calls them.

Everything except GET /verify (a browser following an email link) sits behind the gateway's
API-key check, as Kong places it in a Supabase project. The JWKS route lives in app.py.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from devstack.supabase_api import auth_admin, auth_session, auth_verify
from devstack.supabase_api.auth_gateway import require_api_key
from devstack.supabase_api.auth_http import GoTrueRoute


def build_router() -> APIRouter:
    keyed = APIRouter(route_class=GoTrueRoute, dependencies=[Depends(require_api_key)])
    keyed.include_router(auth_verify.router)
    keyed.include_router(auth_session.router)
    keyed.include_router(auth_admin.router)
    router = APIRouter(prefix="/auth/v1", tags=["auth"], route_class=GoTrueRoute)
    router.include_router(keyed)
    router.include_router(auth_verify.open_router)
    return router


router = build_router()
