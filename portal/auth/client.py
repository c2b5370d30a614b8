"""Supabase Auth through the official client (supabase_auth), one client per request.

The client was written for one user per process; the portal serves many, so each request gets
a fresh client with no session persistence or refresh timer. The PKCE code verifier it keeps
between "send me a link" and "I clicked it" lives in a short-lived HttpOnly cookie
(`VerifierStorage`, portal.auth.cookies), so the link works in the browser that asked for it
and nowhere else.
"""

from __future__ import annotations

from starlette.requests import Request
from supabase_auth import AsyncGoTrueClient, AsyncSupportedStorage
from supabase_auth._async.gotrue_admin_api import AsyncGoTrueAdminAPI
from supabase_auth.types import AuthFlowType, Session

from dbolt import auth_admin
from dbolt.auth_admin import MagicLink
from portal.auth.cookies import VERIFIER_COOKIE
from portal.state import PortalState

STORAGE_KEY = "dbolt-auth"
_VERIFIER_KEY = f"{STORAGE_KEY}-code-verifier"


class VerifierStorage(AsyncSupportedStorage):
    """The client's storage for one request: the code verifier comes from, and goes back to,
    the visitor's cookie; the session itself is never stored (it goes to the session cookies)."""

    def __init__(self, verifier: str | None = None) -> None:
        self.items: dict[str, str] = {_VERIFIER_KEY: verifier} if verifier else {}

    async def get_item(self, key: str) -> str | None:
        return self.items.get(key)

    async def set_item(self, key: str, value: str) -> None:
        if key == _VERIFIER_KEY:
            self.items[key] = value

    async def remove_item(self, key: str) -> None:
        self.items.pop(key, None)

    @property
    def verifier(self) -> str | None:
        return self.items.get(_VERIFIER_KEY)

    @classmethod
    def from_request(cls, request: Request) -> VerifierStorage:
        return cls(request.cookies.get(VERIFIER_COOKIE))


def _anon_headers(state: PortalState) -> dict[str, str]:
    anon = state.settings.supabase_anon_key.get_secret_value()
    return {"apikey": anon, "Authorization": f"Bearer {anon}"}


def auth_client(
    state: PortalState, storage: AsyncSupportedStorage | None = None, flow: AuthFlowType = "pkce"
) -> AsyncGoTrueClient:
    return AsyncGoTrueClient(
        url=state.settings.auth_url,
        headers=_anon_headers(state),
        storage_key=STORAGE_KEY,
        auto_refresh_token=False,
        persist_session=False,
        storage=storage or VerifierStorage(),
        http_client=state.http,
        flow_type=flow,
    )


async def logout(state: PortalState, access_token: str) -> None:
    """Ends this session at Auth (scope "local": the customer's other devices stay signed in).

    GoTrue's logout takes the user's own token and the anon key; the official client has it on
    its admin API object (which only needs the project's key for this call)."""
    api = AsyncGoTrueAdminAPI(
        url=state.settings.auth_url, headers=_anon_headers(state), http_client=state.http
    )
    await api.sign_out(access_token, "local")


async def generate_magic_link(state: PortalState, email: str) -> MagicLink:
    """A sign-in link for `email` from the Auth admin API, handed to us instead of emailed."""
    return await auth_admin.generate_magic_link(
        state.http,
        state.settings.supabase_url,
        state.settings.supabase_service_role_key.get_secret_value(),
        email,
    )


async def session_from_token_hash(state: PortalState, token_hash: str, kind: str) -> Session:
    """Redeems an email link's token hash (POST /verify); AuthApiError when refused."""
    response = await auth_client(state, flow="implicit").verify_otp(
        {"token_hash": token_hash, "type": kind}  # type: ignore[typeddict-item]
    )
    if response.session is None:
        raise LookupError("Auth verified the link but returned no session")
    return response.session
