"""Oversized and many-part request bodies against the real webhook and portal servers (uvicorn
on loopback, real database): refused with 413 (or 400 for too many form parts) before being
read whole, nothing written, and the server still healthy afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import psycopg
import pytest

from devstack.serving import AppServer
from devstack.supabase_api.runtime import Settings as SupabaseSettings
from devstack.supabase_api.server import ServerThread
from portal import app as portal_app_module
from portal import business_form
from tests.support.http_attacks import post_chunked_without_end, post_claiming_length
from tests.support.portal_harness import portal_app, sign_in_cookies
from tests.support.webhook_harness import Stack, stack

__all__ = ["stack"]  # the webhook fixture, imported for pytest

MIB = 1024 * 1024


# -- the webhook --------------------------------------------------------------------------------
def _webhook_counts(stack: Stack) -> tuple[int, int]:
    return (
        stack.scalar("select count(*) from stripe_events"),
        stack.scalar("select count(*) from orders"),
    )


def _webhook_healthy(stack: Stack) -> None:
    assert httpx.get(f"{stack.webhook.url}/healthz", timeout=10).status_code == 200


def test_webhook_refuses_an_oversized_content_length_before_reading_the_body(stack: Stack) -> None:
    headers = {"Stripe-Signature": "t=1,v1=00", "Content-Type": "application/json"}
    status = post_claiming_length(stack.webhook.url, "/stripe/webhook", 50 * MIB, headers)

    assert status == 413, "the webhook waited for a 50 MiB body instead of refusing it"
    assert _webhook_counts(stack) == (0, 0)
    _webhook_healthy(stack)


def test_webhook_refuses_an_oversized_chunked_body_while_it_streams(stack: Stack) -> None:
    headers = {"Stripe-Signature": "t=1,v1=00", "Content-Type": "application/json"}
    status = post_chunked_without_end(stack.webhook.url, "/stripe/webhook", 2 * MIB, headers)

    assert status == 413, "the webhook kept reading a chunked body past its limit"
    assert _webhook_counts(stack) == (0, 0)
    _webhook_healthy(stack)


# -- the portal ---------------------------------------------------------------------------------
@dataclass
class PortalServer:
    url: str
    db_url: str


@pytest.fixture
def portal_server(db_url: str) -> Iterator[PortalServer]:
    with ServerThread(SupabaseSettings(database_url=db_url)) as supabase:
        app = portal_app(db_url, supabase.url, portal_url="http://127.0.0.1:1")
        with AppServer(app, "the portal") as server:
            yield PortalServer(server.url, db_url)


def _customer(server: PortalServer) -> tuple[str, dict[str, str], str]:
    """(order id, cookies, email) of a customer with a paid order and no business yet."""
    email = "limits@example.com"
    with psycopg.connect(server.db_url, autocommit=True) as conn:
        created = conn.execute(
            "select dev.create_paid_order(%s, 'starter', '{}')", (email,)
        ).fetchone()
        assert created is not None
        row = conn.execute(
            "select o.id, c.user_id from orders o join customers c on c.id = o.customer_id"
            " where o.id = %s",
            (created[0],),
        ).fetchone()
    assert row is not None
    return str(row[0]), sign_in_cookies(row[1], email), email


def _business_name(server: PortalServer, email: str) -> str | None:
    with psycopg.connect(server.db_url) as conn:
        row = conn.execute("select business_name from customers where email = %s", (email,))
        found = row.fetchone()
    return None if found is None else found[0]


def _portal_healthy(server: PortalServer) -> None:
    assert httpx.get(f"{server.url}/pricing", timeout=10).status_code in (200, 502, 503)
    assert httpx.get(f"{server.url}/healthz", timeout=10).status_code in (200, 503)


def _cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def test_portal_refuses_an_oversized_content_length_before_reading_the_body(
    portal_server: PortalServer,
) -> None:
    status = post_claiming_length(
        portal_server.url,
        "/checkout",
        50 * MIB,
        {"Content-Type": "application/x-www-form-urlencoded"},
        sent=b"tier=",
    )

    assert status == 413, "the portal waited for a 50 MiB form instead of refusing it"
    _portal_healthy(portal_server)


def test_portal_refuses_an_oversized_chunked_multipart_while_it_streams(
    portal_server: PortalServer,
) -> None:
    # A file part in a form that takes no file: Starlette would spool it to disk, unbounded.
    file_part = (
        b'--x\r\nContent-Disposition: form-data; name="upload"; filename="big.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n"
    )
    status = post_chunked_without_end(
        portal_server.url,
        "/checkout",
        2 * MIB,
        {"Content-Type": "multipart/form-data; boundary=x"},
        prefix=file_part,
    )

    # Whichever cap the stream hits first answers: the body limit (413) or the form parser's
    # no-files-here cap (400). Either way the portal stopped reading long before the end.
    assert status in (400, 413), "the portal kept reading a chunked form past its limit"
    _portal_healthy(portal_server)


def test_portal_business_form_takes_a_logo_but_not_a_body_past_the_logo_limit(
    portal_server: PortalServer,
) -> None:
    order_id, cookies, email = _customer(portal_server)
    headers = {
        "Content-Type": "multipart/form-data; boundary=x",
        "Cookie": _cookie_header(cookies),
    }
    path = f"/orders/{order_id}/business"
    # A body the size of the largest logo is read (the form answers it); twice that is not.
    too_big = post_claiming_length(
        portal_server.url, path, 3 * business_form.LOGO_MAX_BYTES, headers
    )
    assert too_big == 413
    # A well-formed start (a logo part), then more logo than any logo may be, never ending.
    logo_part = (
        b'--x\r\nContent-Disposition: form-data; name="logo"; filename="logo.png"\r\n'
        b"Content-Type: image/png\r\n\r\n"
    )
    chunked = post_chunked_without_end(
        portal_server.url, path, 3 * business_form.LOGO_MAX_BYTES, headers, prefix=logo_part
    )
    assert chunked == 413
    assert _business_name(portal_server, email) is None, "nothing was saved"
    assert portal_app_module.LOGO_FORM_MAX_BODY_BYTES > business_form.LOGO_MAX_BYTES
    _portal_healthy(portal_server)


def _multipart(fields: int, files: int) -> tuple[bytes, str]:
    boundary = "limitsboundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="tier"\r\n\r\ngrowth\r\n']
    parts += [
        f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\n{i}\r\n'
        for i in range(fields)
    ]
    parts += [
        f'--{boundary}\r\nContent-Disposition: form-data; name="file{i}"; filename="{i}.txt"\r\n'
        f"Content-Type: text/plain\r\n\r\n{i}\r\n"
        for i in range(files)
    ]
    parts.append(f"--{boundary}--\r\n")
    return "".join(parts).encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(("fields", "files"), [(300, 0), (0, 200)])
def test_portal_refuses_a_multipart_form_with_hundreds_of_fields_or_files(
    portal_server: PortalServer, fields: int, files: int
) -> None:
    body, content_type = _multipart(fields, files)
    assert len(body) < portal_app_module.PORTAL_MAX_BODY_BYTES, "the size limit is not the point"

    answer = httpx.post(
        f"{portal_server.url}/checkout",
        content=body,
        headers={"Content-Type": content_type},
        timeout=10,
    )

    assert answer.status_code == 400, answer.text[:300]
    with psycopg.connect(portal_server.db_url) as conn:
        started = conn.execute("select count(*) from checkout_sessions").fetchone()
    assert started == (0,), "no checkout was started"
    _portal_healthy(portal_server)
