"""Every portal route, walked from the app's own route table, answers with a CSP that forbids
framing (clickjacking), X-Frame-Options, nosniff and a Referrer-Policy: signed out, as a
customer and as staff, pages, error pages, redirects, JSON, event streams and static files
alike. Against the real portal served by uvicorn, the real database and Auth stand-in."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.responses import Response
from starlette.routing import Mount

from devstack.serving import AppServer
from devstack.supabase_api.runtime import Settings as SupabaseSettings
from devstack.supabase_api.server import ServerThread
from portal.middleware import SecurityHeadersMiddleware
from tests.support.portal_harness import portal_app, sign_in_cookies

PORTAL_URL = "http://127.0.0.1:1"


@dataclass
class Server:
    url: str
    app: FastAPI
    db_url: str


@pytest.fixture
def server(db_url: str) -> Iterator[Server]:
    with ServerThread(SupabaseSettings(database_url=db_url)) as supabase:
        app = portal_app(db_url, supabase.url, portal_url=PORTAL_URL)
        with AppServer(app, "the portal") as served:
            yield Server(served.url, app, db_url)


def walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path template) of every route, through FastAPI's included routers."""
    for route in routes:
        if hasattr(route, "original_router"):
            inner = getattr(route.include_context, "prefix", "") or ""
            yield from walk(route.original_router.routes, prefix + inner)
        elif isinstance(route, Mount):
            yield "GET", prefix + route.path + "/portal.css"
        else:
            for method in sorted(route.methods or []):
                if method != "HEAD":
                    yield method, prefix + route.path


def customer_and_staff(db_url: str) -> tuple[str, dict[str, str], dict[str, str]]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        created = conn.execute(
            "select dev.create_paid_order('headers@example.com', 'starter', null)"
        ).fetchone()
        assert created is not None
        row = conn.execute(
            "select o.id, c.user_id from orders o join customers c on c.id = o.customer_id"
            " where o.id = %s",
            (created[0],),
        ).fetchone()
        assert row is not None
        staff_id = uuid.uuid4()
        conn.execute(
            "insert into auth.users (instance_id, id, aud, role, email, email_confirmed_at,"
            " raw_app_meta_data, raw_user_meta_data, created_at, updated_at)"
            " values ('00000000-0000-0000-0000-000000000000', %s, 'authenticated',"
            " 'authenticated', 'staff-headers@example.com', now(),"
            ' \'{"provider": "email", "role": "staff"}\', \'{}\', now(), now())',
            (staff_id,),
        )
    customer = sign_in_cookies(row[1], "headers@example.com")
    staff = sign_in_cookies(staff_id, "staff-headers@example.com", "staff")
    return str(row[0]), customer, staff


def fill(template: str, order_id: str) -> str:
    values = {
        "order_id": order_id,
        "job_id": str(uuid.uuid4()),
        "attempt_id": "1",
        "kind": "html",
        "action": "pause",
        "alert_id": "1",
        "name": f"{uuid.uuid4()}.png",
    }
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values.get(m.group(1), "x"), template)


def assert_protected(response: httpx.Response, what: str) -> None:
    csp = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp, f"{what}: CSP {csp!r}"
    assert response.headers.get("x-frame-options") == "DENY", what
    assert response.headers.get("x-content-type-options") == "nosniff", what
    assert response.headers.get("referrer-policy"), what


def test_every_portal_route_answers_with_csp_and_frame_protection(server: Server) -> None:
    order_id, customer, staff = customer_and_staff(server.db_url)
    routes = sorted(set(walk(server.app.routes)))
    assert len(routes) > 30, routes
    checked = 0
    with httpx.Client(base_url=server.url, timeout=20, follow_redirects=False) as client:
        for who, cookies in (("signed out", {}), ("customer", customer), ("staff", staff)):
            for method, template in routes:
                path = fill(template, order_id)
                headers = {"Accept": "text/html"}
                if cookies:
                    headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
                data = {"tier": "nope"} if method == "POST" else None
                # Streams (event sources) are only opened: the headers are what matter.
                with client.stream(method, path, headers=headers, data=data) as response:
                    assert_protected(response, f"{who} {method} {path} -> {response.status_code}")
                checked += 1
        # A cross-site write refused by the origin guard, and a page that does not exist.
        refused = client.post("/checkout", headers={"Origin": "https://evil.example"})
        assert refused.status_code == 403
        assert_protected(refused, "cross-site POST")
        assert_protected(client.get("/no-such-page"), "404 page")
    assert checked == 3 * len(routes)


def test_the_full_policy_is_what_the_pages_need(server: Server) -> None:
    page = httpx.get(f"{server.url}/pricing", timeout=10)
    csp = page.headers["content-security-policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ):
        assert directive in csp
    assert "unsafe-eval" not in csp
    assert "script-src 'self' 'unsafe-inline'" not in csp
    # No inline script or style element in the page (the policy would block it).
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)
    assert "<style" not in page.text


def test_a_stricter_policy_of_a_response_is_kept_and_framing_still_refused() -> None:
    # What the staff artifact view and logos do: their own sandboxing policy stands.
    app = FastAPI()

    @app.get("/artifact")
    def artifact() -> Response:
        return Response(
            "<p>saved page</p>",
            media_type="text/html",
            headers={"Content-Security-Policy": "sandbox; default-src 'none'"},
        )

    app.add_middleware(SecurityHeadersMiddleware, portal_url=PORTAL_URL)
    with TestClient(app) as client:
        answer = client.get("/artifact")
    assert answer.headers["content-security-policy"] == (
        "sandbox; default-src 'none'; frame-ancestors 'none'"
    )
    assert answer.headers["x-frame-options"] == "DENY"
