"""The portal's frame: sessions verified against Auth's keys and refreshed, RLS-bound reads,
sign-in redirects, the staff gate and the cross-site write guard."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import APIRouter
from starlette.responses import JSONResponse

from devstack import jwt_keys
from portal.auth.cookies import ACCESS_COOKIE, REFRESH_COOKIE
from portal.dependencies import PortalStateDep, SignedIn, StaffViewer
from tests.support.portal_harness import PortalStack, access_token

probe = APIRouter()


@probe.get("/_probe/orders")
async def my_orders(viewer: SignedIn, state: PortalStateDep) -> JSONResponse:
    async with state.db.as_viewer(viewer) as q:
        rows = await q.fetch_all("probe_orders")
    return JSONResponse({"email": viewer.email, "orders": [str(r["id"]) for r in rows]})


@probe.get("/_probe/staff")
async def staff_only(viewer: StaffViewer) -> JSONResponse:
    return JSONResponse({"staff": viewer.email})


@probe.post("/_probe/write")
async def write(viewer: SignedIn) -> JSONResponse:
    return JSONResponse({"ok": True})


def _mount_probe(stack: PortalStack) -> None:
    app: Any = stack.client.app
    app.include_router(probe)
    app.state.portal.db.queries.sql["probe_orders"] = "select id from orders order by id"


def test_healthz(portal_stack: PortalStack) -> None:
    response = portal_stack.client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_signed_out_visitor_is_sent_to_sign_in_with_the_page_to_return_to(
    portal_stack: PortalStack,
) -> None:
    _mount_probe(portal_stack)
    response = portal_stack.client.get("/_probe/orders?x=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/_probe/orders%3Fx%3D1"


def test_reads_run_under_the_customers_jwt_so_rls_shows_only_their_rows(
    portal_stack: PortalStack,
) -> None:
    _mount_probe(portal_stack)
    alice = portal_stack.customer("alice@example.com")
    bob = portal_stack.customer("bob@example.com")
    response = portal_stack.client.get("/_probe/orders", cookies=alice.cookies)
    assert response.status_code == 200
    assert response.json() == {"email": "alice@example.com", "orders": [str(alice.order_id)]}
    response = portal_stack.client.get("/_probe/orders", cookies=bob.cookies)
    assert response.json()["orders"] == [str(bob.order_id)]


def test_forged_and_foreign_tokens_count_as_signed_out_and_clear_the_cookie(
    portal_stack: PortalStack,
) -> None:
    _mount_probe(portal_stack)
    good = access_token(uuid.uuid4(), "eve@example.com")
    header, payload, _signature = good.split(".")
    forged = f"{header}.{payload}.{'A' * 86}"
    for token in (forged, "not-a-jwt", jwt_keys.mint_api_key("service_role")):
        response = portal_stack.client.get("/_probe/orders", cookies={ACCESS_COOKIE: token})
        assert response.status_code == 303, token
        assert f'{ACCESS_COOKIE}=""' in response.headers.get("set-cookie", "")


def test_staff_pages_refuse_customers_and_admit_staff(portal_stack: PortalStack) -> None:
    _mount_probe(portal_stack)
    alice = portal_stack.customer("alice@example.com")
    refused = portal_stack.client.get(
        "/_probe/staff", cookies=alice.cookies, headers={"accept": "text/html"}
    )
    assert refused.status_code == 403
    assert "for DirectoryBolt staff" in refused.text
    staff = portal_stack.staff("ops@directorybolt.test")
    assert portal_stack.client.get("/_probe/staff", cookies=staff).json() == {
        "staff": "ops@directorybolt.test"
    }


def test_an_expired_session_is_refreshed_with_the_refresh_cookie(portal_stack: PortalStack) -> None:
    _mount_probe(portal_stack)
    service = jwt_keys.mint_api_key("service_role")
    auth = f"{portal_stack.supabase.url}/auth/v1"
    created = httpx.post(
        f"{auth}/admin/users",
        json={"email": "carol@example.com", "password": "a-long-password", "email_confirm": True},
        headers={"apikey": service, "Authorization": f"Bearer {service}"},
    )
    assert created.status_code == 200, created.text
    anon = jwt_keys.mint_api_key("anon")
    grant = httpx.post(
        f"{auth}/token?grant_type=password",
        json={"email": "carol@example.com", "password": "a-long-password"},
        headers={"apikey": anon},
    ).json()
    expired = access_token(created.json()["id"], "carol@example.com", expires_in=-60)
    response = portal_stack.client.get(
        "/_probe/orders", cookies={ACCESS_COOKIE: expired, REFRESH_COOKIE: grant["refresh_token"]}
    )
    assert response.status_code == 200
    assert response.json()["email"] == "carol@example.com"
    cookies = response.headers.get_list("set-cookie")
    assert any(c.startswith(f"{ACCESS_COOKIE}=ey") for c in cookies)
    assert any(
        c.startswith(f"{REFRESH_COOKIE}=") and grant["refresh_token"] not in c for c in cookies
    )
    assert all("HttpOnly" in c and "SameSite=lax" in c for c in cookies)


def test_a_refused_refresh_signs_the_visitor_out(portal_stack: PortalStack) -> None:
    _mount_probe(portal_stack)
    expired = access_token(uuid.uuid4(), "dan@example.com", expires_in=-60)
    response = portal_stack.client.get(
        "/_probe/orders", cookies={ACCESS_COOKIE: expired, REFRESH_COOKIE: "nonsense"}
    )
    assert response.status_code == 303
    assert f'{REFRESH_COOKIE}=""' in ";".join(response.headers.get_list("set-cookie"))


def test_cross_site_writes_are_refused(portal_stack: PortalStack) -> None:
    _mount_probe(portal_stack)
    alice = portal_stack.customer("alice@example.com")
    evil = portal_stack.client.post(
        "/_probe/write", cookies=alice.cookies, headers={"origin": "https://evil.example"}
    )
    assert evil.status_code == 403
    same = portal_stack.client.post(
        "/_probe/write", cookies=alice.cookies, headers={"origin": "http://testserver"}
    )
    assert same.status_code == 200


def test_unknown_pages_get_an_accessible_error_page(portal_stack: PortalStack) -> None:
    response = portal_stack.client.get("/no-such-page", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert '<html lang="en">' in response.text
    assert "<main" in response.text
