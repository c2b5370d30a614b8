"""The local Supabase signing key, and the tokens the devstack mints and verifies with it.

A hosted Supabase project signs access tokens with an asymmetric key (ES256) and publishes
the public half as a JWKS at `<SUPABASE_URL>/auth/v1/.well-known/jwks.json`; Realtime and
our services verify offline against it. Locally the key is generated once and kept in
`.local/keys/supabase-signing-key.json` (gitignored, mode 0600), so every stand-in — the
Realtime stand-in now, the Auth stand-in later — and every test agrees on it.

    mint_access_token(user_id, app_metadata={"role": "worker"})  # what Auth issues a user
    mint_api_key("anon") / mint_api_key("service_role")           # the project's API keys
    verify(token)                                                 # claims, or TokenError
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

ROOT = Path(__file__).resolve().parent.parent
KEY_PATH = ROOT / ".local" / "keys" / "supabase-signing-key.json"
DEFAULT_SUPABASE_URL = "http://127.0.0.1:54321"
ALGORITHM = "ES256"

# The worker's Supabase Auth service account (docs/architecture.md: workers join Realtime with
# their own access token, never the service-role key). Fixed so logs and fixtures can name it.
WORKER_ACCOUNT_ID = "5f0c2a7e-3b1d-4c9a-9e61-0d1b0a7e5c01"
WORKER_ACCOUNT_EMAIL = "worker@directorybolt.local"

# Supabase's API keys are JWTs that live for about ten years.
API_KEY_LIFETIME_SECONDS = 10 * 365 * 24 * 3600

ApiKeyRole = Literal["anon", "service_role"]


class TokenError(ValueError):
    """A token that must not be trusted; `code` says why in Realtime's own vocabulary."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def supabase_url() -> str:
    return os.environ.get("SUPABASE_URL", DEFAULT_SUPABASE_URL).rstrip("/")


def _generate_jwk() -> dict[str, Any]:
    private_key = ec.generate_private_key(ec.SECP256R1())
    jwk = dict(ECAlgorithm.to_jwk(private_key, as_dict=True))
    jwk.update({"kid": str(uuid.uuid4()), "alg": ALGORITHM, "use": "sig"})
    return jwk


def _write_once(path: Path, jwk: dict[str, Any]) -> None:
    """Create `path` with mode 0600 unless another process got there first.

    Written to a private temporary file and hard-linked into place, so concurrent first runs
    (tests in parallel, `make up`) never see a half-written key and all end up with one key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-")
    try:
        with os.fdopen(descriptor, "w") as handle:
            json.dump(jwk, handle, indent=2)
        os.chmod(temporary, 0o600)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


@functools.cache
def signing_jwk(path: Path = KEY_PATH) -> dict[str, Any]:
    """The private JWK, generated on first use."""
    if not path.exists():
        _write_once(path, _generate_jwk())
    jwk: dict[str, Any] = json.loads(path.read_text())
    return jwk


def _public_jwk(jwk: dict[str, Any]) -> dict[str, Any]:
    public = {key: value for key, value in jwk.items() if key != "d"}
    public["key_ops"] = ["verify"]
    return public


def jwks(path: Path = KEY_PATH) -> dict[str, Any]:
    """The JSON Web Key Set Supabase Auth publishes: public keys only."""
    return {"keys": [_public_jwk(signing_jwk(path))]}


def _sign(claims: dict[str, Any], path: Path = KEY_PATH) -> str:
    jwk = signing_jwk(path)
    key = jwt.PyJWK(jwk, algorithm=ALGORITHM)
    return jwt.encode(claims, key.key, algorithm=ALGORITHM, headers={"kid": jwk["kid"]})


def mint_access_token(
    sub: str,
    *,
    role: str = "authenticated",
    app_metadata: dict[str, Any] | None = None,
    email: str | None = None,
    expires_in: int = 3600,
    session_id: str | None = None,
    user_metadata: dict[str, Any] | None = None,
    amr: list[dict[str, Any]] | None = None,
    aal: str = "aal1",
    phone: str = "",
    is_anonymous: bool = False,
    issued_at: int | None = None,
) -> str:
    """An access token shaped like the ones Supabase Auth issues after a sign-in.

    The Auth stand-in passes the user's and session's real values (metadata, the sign-in
    methods in `amr`, `issued_at` so `exp` matches the `expires_at` it returns); the defaults
    describe a fresh password sign-in, which is what tests minting a token directly want.
    """
    now = int(time.time()) if issued_at is None else issued_at
    claims: dict[str, Any] = {
        "iss": f"{supabase_url()}/auth/v1",
        "aud": "authenticated",
        "exp": now + expires_in,
        "iat": now,
        "sub": sub,
        "role": role,
        "aal": aal,
        "session_id": session_id or str(uuid.uuid4()),
        "email": email or "",
        "phone": phone,
        "is_anonymous": is_anonymous,
        "app_metadata": {"provider": "email", "providers": ["email"], **(app_metadata or {})},
        "user_metadata": user_metadata or {},
        "amr": amr if amr is not None else [{"method": "password", "timestamp": now}],
    }
    return _sign(claims)


def mint_api_key(role: ApiKeyRole) -> str:
    """A long-lived project API key (`anon` or `service_role`), as `supabase start` prints."""
    if role not in ("anon", "service_role"):
        raise ValueError(f"role: API keys are 'anon' or 'service_role', not {role!r}")
    now = int(time.time())
    return _sign(
        {"iss": "supabase-demo", "role": role, "iat": now, "exp": now + API_KEY_LIFETIME_SECONDS}
    )


def mint_worker_token(expires_in: int = 3600) -> str:
    """The worker service account's access token: `app_metadata.role` is `worker`."""
    return mint_access_token(
        WORKER_ACCOUNT_ID,
        app_metadata={"role": "worker"},
        email=WORKER_ACCOUNT_EMAIL,
        expires_in=expires_in,
    )


def _verification_key(token: str, path: Path) -> Any:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as error:
        raise TokenError("malformed", "The token provided is not a valid JWT") from error
    for candidate in jwks(path)["keys"]:
        if candidate["kid"] == header.get("kid"):
            return jwt.PyJWK(candidate, algorithm=ALGORITHM).key
    raise TokenError("bad_signature", "Failed to validate JWT signature: unknown signing key")


def verify(token: str, path: Path = KEY_PATH) -> dict[str, Any]:
    """The token's claims if our key signed it and it has not expired; TokenError otherwise.

    The audience is not checked: API keys carry none, access tokens say `authenticated`, and
    Realtime accepts both. `role` and `exp` are required, as Realtime requires them.
    """
    key = _verification_key(token, path)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={"require": ["exp"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError as error:
        expired_for = _seconds_since_expiry(token)
        raise TokenError("expired", f"Token has expired {expired_for} seconds ago") from error
    except jwt.InvalidSignatureError as error:
        raise TokenError("bad_signature", "Failed to validate JWT signature") from error
    except jwt.MissingRequiredClaimError as error:
        raise TokenError("missing_claims", "Fields `role` and `exp` are required in JWT") from error
    except jwt.InvalidTokenError as error:
        raise TokenError("malformed", f"The token provided is not a valid JWT: {error}") from error
    if not isinstance(claims.get("role"), str):
        raise TokenError("missing_claims", "Fields `role` and `exp` are required in JWT")
    return claims


def _seconds_since_expiry(token: str) -> int:
    unverified = jwt.decode(token, options={"verify_signature": False})
    return max(0, int(time.time()) - int(unverified.get("exp", 0)))
