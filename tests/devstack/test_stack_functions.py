"""Edge Functions behind the Supabase stand-in, as Supabase serves them: real Deno processes
(devstack.functions) for supabase/functions/checkout and a test echo function, the Supabase
stand-in's /functions/v1 gateway in front, the Stripe stand-in behind checkout, over real
loopback HTTP. The official supabase-py client invokes the function as the product would."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from supabase_functions.errors import FunctionsHttpError

from dbolt import checkout_proof
from devstack import functions, jwt_keys, localdb
from devstack.serving import AppServer
from devstack.stripe import Settings as StripeSettings
from devstack.stripe import create_app as create_stripe_app
from devstack.stripe.settings import DEFAULT_PRICES, DEFAULT_SECRET_KEY
from devstack.supabase_api import Settings
from devstack.supabase_api.app import create_app
from supabase import create_client

SIGNING_SECRET = "checkout_signing_gateway_tests"
PORTAL_URL = "http://127.0.0.1:8399"

# A function that shows what reached it, and streams an event stream in two parts with the
# second held back until /release is called — so a proxy that buffered would never deliver
# the first part in time.
ECHO_TS = """
let release: () => void = () => {};
const released = new Promise<void>((resolve) => (release = resolve));

function hex(buffer: ArrayBuffer): string {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.serve(async (req) => {
  const url = new URL(req.url);
  if (url.pathname.endsWith("/release")) {
    release();
    return new Response("released");
  }
  if (url.pathname.endsWith("/stream")) {
    const encoder = new TextEncoder();
    const body = new ReadableStream({
      async start(controller) {
        controller.enqueue(encoder.encode("data: first\\n\\n"));
        await released;
        controller.enqueue(encoder.encode("data: second\\n\\n"));
        controller.close();
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  }
  const body = await req.arrayBuffer();
  const headers = new Headers({ "content-type": "application/json", "x-echo": "yes" });
  headers.append("set-cookie", "first=1; Path=/");
  headers.append("set-cookie", "second=2; Path=/");
  return new Response(
    JSON.stringify({
      method: req.method,
      path: url.pathname,
      query: url.search,
      headers: Object.fromEntries(req.headers),
      length: body.byteLength,
      sha256: hex(await crypto.subtle.digest("SHA-256", body)),
    }),
    { status: 207, headers },
  );
});
"""


@dataclass
class Gateway:
    url: str
    stripe_url: str
    anon_key: str

    def functions_url(self, name: str) -> str:
        return f"{self.url}/functions/v1/{name}"

    def headers(self, token: str | None = None) -> dict[str, str]:
        token = token or self.anon_key
        return {"apikey": self.anon_key, "Authorization": f"Bearer {token}"}

    def sessions(self) -> list[dict[str, Any]]:
        # The stand-in's own record of every session, newest first.
        body = httpx.get(f"{self.stripe_url}/_admin/sessions").json()
        return list(body["sessions"])


@pytest.fixture(scope="module")
def gateway(cluster: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    functions_dir = tmp_path_factory.mktemp("functions")
    # The real checkout function, plus the echo function beside it.
    (functions_dir / "checkout").symlink_to(functions.FUNCTIONS_DIR / "checkout")
    (functions_dir / "echo").mkdir()
    (functions_dir / "echo" / "index.ts").write_text(ECHO_TS)
    (functions_dir / "_shared").mkdir()
    (functions_dir / "_shared" / "index.ts").write_text("export const shared = 1;\n")
    assert functions.discover(functions_dir) == ["checkout", "echo"]

    db_url = localdb.fresh(f"pytest_{os.getpid()}_functions")
    with AppServer(create_stripe_app(StripeSettings()), "the Stripe stand-in") as stripe:
        secrets = {
            "PORTAL_URL": PORTAL_URL,
            "STRIPE_API_BASE": stripe.url,
            "STRIPE_SECRET_KEY": DEFAULT_SECRET_KEY,
            "CHECKOUT_SIGNING_SECRET": SIGNING_SECRET,
        } | {f"STRIPE_PRICE_{price.tier.upper()}": price.id for price in DEFAULT_PRICES}
        log_dir = tmp_path_factory.mktemp("deno-logs")
        with functions.EdgeFunctions(secrets, functions_dir=functions_dir, log_dir=log_dir) as fns:
            app = create_app(Settings(database_url=db_url), functions=fns.upstreams)
            with AppServer(app, "the Supabase stand-in") as supabase:
                yield Gateway(supabase.url, stripe.url, jwt_keys.mint_api_key("anon"))


def test_checkout_through_the_official_client_returns_the_stripe_checkout_url(
    gateway: Gateway,
) -> None:
    client = create_client(gateway.url, gateway.anon_key)
    answer = client.functions.invoke(
        "checkout",
        invoke_options={"body": {"tier": "growth", "email": "owner@bakery.example"}},
    )
    assert isinstance(answer, bytes)
    body = json.loads(answer)

    assert body["url"] == f"{gateway.stripe_url}/checkout/{body['id']}"
    session = next(s for s in gateway.sessions() if s["id"] == body["id"])
    assert {k: session["metadata"][k] for k in ("tier", "price")} == {
        "tier": "growth",
        "price": "price_growth_local",
    }
    # Called directly (as a browser may, the function is CORS-enabled), the session still
    # carries the proof the webhook needs before it records a paid order.
    assert checkout_proof.verify(session, SIGNING_SECRET)
    assert session["customer_email"] == "owner@bakery.example"
    assert session["success_url"] == f"{PORTAL_URL}/onboarding?session_id={{CHECKOUT_SESSION_ID}}"
    # The hosted page the buyer is sent to is really there.
    page = httpx.get(body["url"])
    assert page.status_code == 200
    assert "Growth" in page.text


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"tier": "platinum"}, "tier"), ({}, "tier"), ({"tier": "starter", "email": "x"}, "email")],
)
def test_bad_input_is_refused_with_400_naming_the_field(
    gateway: Gateway, payload: dict[str, str], field: str
) -> None:
    before = len(gateway.sessions())
    response = httpx.post(
        gateway.functions_url("checkout"), json=payload, headers=gateway.headers()
    )

    assert response.status_code == 400
    assert response.json()["field"] == field
    assert field in response.json()["error"]
    assert len(gateway.sessions()) == before


def test_the_official_client_sees_the_400_as_an_error(gateway: Gateway) -> None:
    client = create_client(gateway.url, gateway.anon_key)
    with pytest.raises(FunctionsHttpError) as raised:
        client.functions.invoke("checkout", invoke_options={"body": {"tier": "gold"}})
    assert raised.value.status == 400


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Error: Missing authorization header"),
        ({"Authorization": "Basic abc"}, "Error: Auth header is not 'Bearer {token}'"),
        ({"Authorization": "Bearer not-a-jwt"}, "Invalid JWT"),
        (
            {"Authorization": "Bearer " + jwt_keys.mint_access_token("u", expires_in=-120)},
            "Invalid JWT",
        ),
    ],
)
def test_the_gateway_refuses_a_call_without_a_valid_jwt_before_the_function_runs(
    gateway: Gateway, headers: dict[str, str], message: str
) -> None:
    before = len(gateway.sessions())
    response = httpx.post(
        gateway.functions_url("checkout"), json={"tier": "growth"}, headers=headers
    )

    assert response.status_code == 401
    assert response.json() == {"msg": message}
    assert len(gateway.sessions()) == before


def test_a_signed_in_users_access_token_is_accepted(gateway: Gateway) -> None:
    token = jwt_keys.mint_access_token("6f1c0e4e-0000-4000-8000-000000000001")
    response = httpx.post(
        gateway.functions_url("checkout"), json={"tier": "starter"}, headers=gateway.headers(token)
    )
    assert response.status_code == 200
    assert response.json()["id"].startswith("cs_")


def test_a_cors_preflight_reaches_the_function_without_a_token(gateway: Gateway) -> None:
    response = httpx.options(
        gateway.functions_url("checkout"),
        headers={"Origin": PORTAL_URL, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == PORTAL_URL
    assert "POST" in response.headers["access-control-allow-methods"]


def test_the_functions_own_errors_and_headers_pass_through(gateway: Gateway) -> None:
    response = httpx.get(gateway.functions_url("checkout"), headers=gateway.headers())
    assert response.status_code == 405
    assert response.headers["allow"] == "POST, OPTIONS"
    assert response.json() == {"error": "method must be POST"}


def test_an_unknown_function_is_404(gateway: Gateway) -> None:
    for name in ("nope", "_shared"):
        response = httpx.post(gateway.functions_url(name), headers=gateway.headers())
        assert response.status_code == 404
        assert response.json() == {"msg": "Function not found"}


def test_method_path_query_headers_and_body_reach_the_function_intact(gateway: Gateway) -> None:
    body = os.urandom(3 * 1024 * 1024)
    response = httpx.put(
        gateway.functions_url("echo") + "/a/b%20c",
        params={"x": "1", "y": "two words"},
        headers=gateway.headers() | {"X-Custom": "kept", "Content-Type": "application/pdf"},
        content=body,
    )

    assert response.status_code == 207
    echoed = response.json()
    assert echoed["method"] == "PUT"
    assert echoed["path"] == "/echo/a/b%20c"
    assert echoed["query"] == "?x=1&y=two+words"
    assert echoed["headers"]["x-custom"] == "kept"
    assert echoed["headers"]["content-type"] == "application/pdf"
    assert echoed["headers"]["authorization"] == f"Bearer {gateway.anon_key}"
    assert echoed["headers"]["x-forwarded-proto"] == "http"
    assert echoed["length"] == len(body)
    assert echoed["sha256"] == hashlib.sha256(body).hexdigest()
    assert response.headers["x-echo"] == "yes"
    assert response.headers.get_list("set-cookie") == ["first=1; Path=/", "second=2; Path=/"]


def test_a_bodyless_request_arrives_without_a_body(gateway: Gateway) -> None:
    response = httpx.delete(gateway.functions_url("echo"), headers=gateway.headers())
    assert response.status_code == 207
    echoed = response.json()
    assert echoed["method"] == "DELETE"
    assert echoed["length"] == 0
    assert "transfer-encoding" not in echoed["headers"]


def test_a_streamed_response_is_relayed_as_it_is_produced(gateway: Gateway) -> None:
    timeout = httpx.Timeout(15.0)
    with (
        httpx.Client(timeout=timeout) as client,
        client.stream(
            "GET", gateway.functions_url("echo") + "/stream", headers=gateway.headers()
        ) as response,
    ):
        assert response.headers["content-type"] == "text/event-stream"
        chunks = response.iter_text()
        # The function holds the second event until /release: only a relay that streams
        # delivers the first one now.
        assert next(chunks) == "data: first\n\n"
        released = threading.Event()

        def call_release() -> None:
            httpx.post(gateway.functions_url("echo") + "/release", headers=gateway.headers())
            released.set()

        threading.Thread(target=call_release).start()
        rest = "".join(chunks)
        assert released.wait(15)
    assert rest == "data: second\n\n"


def test_a_function_that_is_not_running_gets_503(cluster: None, tmp_path: Path) -> None:
    db_url = localdb.fresh(f"pytest_{os.getpid()}_functions_down")
    dead = f"http://127.0.0.1:{functions.free_port()}"
    app = create_app(Settings(database_url=db_url), functions={"checkout": dead})
    with AppServer(app, "the Supabase stand-in") as supabase:
        response = httpx.post(
            f"{supabase.url}/functions/v1/checkout",
            json={"tier": "growth"},
            headers={"Authorization": f"Bearer {jwt_keys.mint_api_key('anon')}"},
        )
    assert response.status_code == 503
    assert response.json() == {"msg": "Function checkout is not running"}


def test_upstreams_are_parsed_and_must_be_loopback() -> None:
    text = functions.format_upstreams({"b": "http://127.0.0.1:2", "a": "http://127.0.0.1:1"})
    assert text == "a=http://127.0.0.1:1,b=http://127.0.0.1:2"
    assert functions.parse_upstreams(text) == {"a": "http://127.0.0.1:1", "b": "http://127.0.0.1:2"}
    assert functions.parse_upstreams("") == {}
    with pytest.raises(ValueError, match="SUPABASE_FUNCTIONS"):
        functions.parse_upstreams("checkout=http://example.com:1")
    with pytest.raises(ValueError, match="name=url"):
        functions.parse_upstreams("checkout")


def test_a_function_process_sees_only_the_environment_it_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOME_SECRET_OF_THE_CALLER", "do-not-leak")
    env = functions.function_env({"STRIPE_SECRET_KEY": "sk_test_x"}, 5555)
    assert "SOME_SECRET_OF_THE_CALLER" not in env
    assert env["STRIPE_SECRET_KEY"] == "sk_test_x"
    assert env["DENO_SERVE_ADDRESS"] == "tcp:127.0.0.1:5555"
    command = functions.deno_command("checkout")
    assert "--allow-net=127.0.0.1" in command
    assert not any(
        flag.startswith(("--allow-read", "--allow-write", "--allow-run", "-A")) for flag in command
    )
