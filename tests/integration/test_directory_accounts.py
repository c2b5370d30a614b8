"""The credentials vault end to end against the real database: the worker opens a customer's
account on a directory through the orchestrator (login = the campaign mailbox, a generated
password sealed with VAULT_KEYS), gets the same one back on a resend and on the customer's
reorder, another customer gets their own; the customer reveals their own password in the
portal (audited), never another's; staff reveal only with a reason. And the password is in
no log line, CSV, PDF or artifact."""

from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from pypdf import PdfReader

from dbolt.directory_accounts import open_password
from dbolt.settings import LOCAL_MAILBOX_DOMAIN, LOCAL_VAULT_KEYS
from dbolt.sql import Queries
from dbolt.vault import Vault, new_key_spec
from tests.support.orchestrator_harness import WORKER, build
from tests.support.portal_harness import PORTAL_URL, Customer, PortalStack, portal_app
from tests.support.queue_helpers import enable_test_directories, report

HTML = {"accept": "text/html", "origin": PORTAL_URL}
QUERIES = Queries.load()


@dataclass
class Lease:
    job_id: uuid.UUID
    token: str


def _enqueue(conn: psycopg.Connection[Any], queries: Queries, order_id: uuid.UUID) -> uuid.UUID:
    job = queries.fetch_one(conn, "jobs_enqueue", order_id=order_id)
    assert job is not None
    job_id: uuid.UUID = job["id"]
    return job_id


def _claim(api: TestClient, job_id: uuid.UUID) -> Lease:
    response = api.post("/jobs-next", json={"worker_id": "worker-vault"}, headers=WORKER)
    assert response.status_code == 200, response.text
    assert response.json()["job_id"] == str(job_id)
    return Lease(job_id, response.json()["lease_token"])


def _start(api: TestClient, lease: Lease, directory_id: str) -> None:
    response = api.post(
        f"/jobs/{lease.job_id}/directories/{directory_id}/start",
        json={"lease_token": lease.token},
        headers=WORKER,
    )
    assert response.status_code == 200, response.text


def _open(api: TestClient, lease: Lease, directory_id: str, token: str | None = None) -> Any:
    return api.post(
        f"/jobs/{lease.job_id}/directories/{directory_id}/account",
        json={"lease_token": token or lease.token},
        headers=WORKER,
    )


def _finish(
    api: TestClient, conn: psycopg.Connection[Any], lease: Lease, directories: list[str]
) -> None:
    # Reported through the SQL function as the orchestrator's /attempts route calls it.
    for directory_id in directories:
        report(
            conn,
            QUERIES,
            {"id": lease.job_id, "lease_token": lease.token},
            directory_id,
            listing_url=f"https://listings.example/{directory_id}",
        )
    done = api.post(
        f"/jobs/{lease.job_id}/complete", json={"lease_token": lease.token}, headers=WORKER
    )
    assert done.status_code == 200, done.text


def _mailbox(conn: psycopg.Connection[Any], customer: Customer) -> str:
    row = conn.execute(
        "select local_part from customer_mailboxes where customer_id = %s",
        (customer.customer_id,),
    ).fetchone()
    assert row is not None
    return f"{row[0]}@{LOCAL_MAILBOX_DOMAIN}"


def _audits(conn: psycopg.Connection[Any], action: str) -> list[tuple[Any, ...]]:
    return conn.execute(
        "select actor, directory_id, details from audit_log where action = %s order by id",
        (action,),
    ).fetchall()


@pytest.fixture
def directories(conn: psycopg.Connection[Any]) -> list[str]:
    return enable_test_directories(conn, 2)


# -- The orchestrator -------------------------------------------------------------------------
def test_the_worker_opens_an_account_and_gets_the_same_one_back(
    api: TestClient,
    portal_stack: PortalStack,
    conn: psycopg.Connection[Any],
    queries: Queries,
    directories: list[str],
) -> None:
    customer = portal_stack.customer("olga@example.com")
    lease = _claim(api, _enqueue(conn, queries, customer.order_id))
    _start(api, lease, directories[0])

    opened = _open(api, lease, directories[0])
    assert opened.status_code == 200, opened.text
    account = opened.json()
    assert account["created"] is True
    assert account["login"] == _mailbox(conn, customer)
    assert account["site_url"] == f"http://127.0.0.1:9/{directories[0]}"
    password = account["password"]
    assert len(password) >= 20

    again = _open(api, lease, directories[0])
    assert again.status_code == 200
    assert again.json() == {**account, "created": False}

    row = conn.execute(
        "select key_id, password_sealed, login from directory_accounts where customer_id = %s",
        (customer.customer_id,),
    ).fetchall()
    assert len(row) == 1, "one account per customer and directory"
    key_id, sealed, login = row[0]
    assert key_id == "local-dev"
    assert password.encode() not in bytes(sealed), "the database holds it sealed, not plain"
    assert login == account["login"]
    vault = Vault.from_spec(LOCAL_VAULT_KEYS)
    assert open_password(vault, customer.customer_id, directories[0], key_id, sealed) == password
    with pytest.raises(Exception, match="did not open"):
        # Bound to its row: the same bytes do not open as another customer's.
        open_password(vault, uuid.uuid4(), directories[0], key_id, sealed)
    assert [details["created"] for _, _, details in _audits(conn, "directory_account.opened")] == [
        True,
        False,
    ]


def test_refusals_name_what_is_wrong_and_open_nothing(
    api: TestClient,
    portal_stack: PortalStack,
    conn: psycopg.Connection[Any],
    queries: Queries,
    directories: list[str],
) -> None:
    customer = portal_stack.customer("pia@example.com")
    lease = _claim(api, _enqueue(conn, queries, customer.order_id))
    _start(api, lease, directories[0])
    url = f"/jobs/{lease.job_id}/directories/{directories[0]}/account"

    assert api.post(url, json={"lease_token": lease.token}).status_code == 401
    assert (
        api.post(
            url, json={"lease_token": lease.token}, headers={"Authorization": "Bearer nope"}
        ).status_code
        == 403
    )
    stale = _open(api, lease, directories[0], token=str(uuid.uuid4()))
    assert stale.status_code == 409
    assert stale.json()["error"] == "lease_lost"
    queued = _open(api, lease, directories[1])
    assert queued.status_code == 409
    assert "not in progress" in queued.json()["detail"]
    missing = _open(api, lease, "not-in-this-job")
    assert missing.status_code == 404
    assert "not part of job" in missing.json()["detail"]
    extra = api.post(url, json={"lease_token": lease.token, "password": "mine"}, headers=WORKER)
    assert extra.status_code == 422
    assert conn.execute("select count(*) from directory_accounts").fetchone() == (0,)


def test_a_reorder_reuses_the_account_and_another_customer_gets_their_own(
    api: TestClient,
    portal_stack: PortalStack,
    conn: psycopg.Connection[Any],
    queries: Queries,
    directories: list[str],
) -> None:
    olga = portal_stack.customer("olga@example.com")
    first = _claim(api, _enqueue(conn, queries, olga.order_id))
    _start(api, first, directories[0])
    original = _open(api, first, directories[0]).json()
    _finish(api, conn, first, directories)

    reorder = portal_stack.customer("olga@example.com")
    second = _claim(api, _enqueue(conn, queries, reorder.order_id))
    _start(api, second, directories[0])
    reused = _open(api, second, directories[0]).json()
    assert reused == {**original, "created": False}
    _finish(api, conn, second, directories)

    other = portal_stack.customer("quinn@example.com")
    third = _claim(api, _enqueue(conn, queries, other.order_id))
    _start(api, third, directories[0])
    theirs = _open(api, third, directories[0]).json()
    assert theirs["created"] is True
    assert theirs["login"] == _mailbox(conn, other) != original["login"]
    assert theirs["password"] != original["password"]


# -- The portal -------------------------------------------------------------------------------
@dataclass
class Opened:
    customer: Customer
    lease: Lease
    account_id: uuid.UUID
    password: str
    login: str


def _opened(
    api: TestClient,
    stack: PortalStack,
    conn: psycopg.Connection[Any],
    queries: Queries,
    directories: list[str],
    email: str,
) -> Opened:
    customer = stack.customer(email)
    lease = _claim(api, _enqueue(conn, queries, customer.order_id))
    _start(api, lease, directories[0])
    account = _open(api, lease, directories[0]).json()
    row = conn.execute(
        "select id from directory_accounts where customer_id = %s", (customer.customer_id,)
    ).fetchone()
    assert row is not None
    return Opened(customer, lease, row[0], account["password"], account["login"])


def test_the_customer_sees_their_accounts_and_reveals_a_password_audited(
    api: TestClient,
    portal_stack: PortalStack,
    conn: psycopg.Connection[Any],
    queries: Queries,
    directories: list[str],
) -> None:
    mine = _opened(api, portal_stack, conn, queries, directories, "rosa@example.com")
    client = portal_stack.client
    page = client.get(f"/jobs/{mine.lease.job_id}", cookies=mine.customer.cookies, headers=HTML)
    assert page.status_code == 200
    assert "Accounts we opened for you" in page.text
    assert mine.login in page.text
    assert mine.password not in page.text
    reveal_url = f"/jobs/{mine.lease.job_id}/accounts/{mine.account_id}/reveal"
    assert f'action="{reveal_url}#account-{mine.account_id}"' in page.text

    shown = client.post(reveal_url, cookies=mine.customer.cookies, headers=HTML)
    assert shown.status_code == 200
    assert mine.password in shown.text
    assert "no-store" in shown.headers["cache-control"]
    assert _audits(conn, "directory_account.revealed") == [
        (f"user:{mine.customer.user_id}", directories[0], {"account_id": str(mine.account_id)})
    ]
    assert (
        mine.password
        not in client.get(
            f"/jobs/{mine.lease.job_id}", cookies=mine.customer.cookies, headers=HTML
        ).text
    ), "shown only in the answer to the reveal"


def test_nobody_else_reveals_a_customers_password(
    api: TestClient,
    portal_stack: PortalStack,
    conn: psycopg.Connection[Any],
    queries: Queries,
    directories: list[str],
) -> None:
    victim = _opened(api, portal_stack, conn, queries, directories, "sara@example.com")
    _finish(api, conn, victim.lease, directories)
    attacker = _opened(api, portal_stack, conn, queries, directories, "tom@example.com")
    client = portal_stack.client
    victim_url = f"/jobs/{victim.lease.job_id}/accounts/{victim.account_id}/reveal"
    # Another customer: on the victim's job, or naming the victim's account on their own job.
    for url in (victim_url, f"/jobs/{attacker.lease.job_id}/accounts/{victim.account_id}/reveal"):
        refused = client.post(url, cookies=attacker.customer.cookies, headers=HTML)
        assert refused.status_code == 404, url
        assert victim.password not in refused.text
    # Staff use the dashboard (with a reason), not the customer's button.
    assert client.post(victim_url, cookies=portal_stack.staff(), headers=HTML).status_code == 404
    signed_out = client.post(victim_url, headers=HTML)
    assert signed_out.status_code == 303
    assert _audits(conn, "directory_account.revealed") == []


def test_staff_reveal_only_with_a_reason_recorded_with_their_email(
    api: TestClient,
    portal_stack: PortalStack,
    conn: psycopg.Connection[Any],
    queries: Queries,
    directories: list[str],
) -> None:
    opened = _opened(api, portal_stack, conn, queries, directories, "uma@example.com")
    client = portal_stack.client
    staff = portal_stack.staff("ann@directorybolt.test")
    drill_down = client.get(f"/staff/jobs/{opened.lease.job_id}", cookies=staff, headers=HTML)
    assert drill_down.status_code == 200
    assert opened.login in drill_down.text
    assert opened.password not in drill_down.text
    url = f"/staff/jobs/{opened.lease.job_id}/accounts/{opened.account_id}/reveal"
    assert f'action="{url}"' in drill_down.text

    for reason in (None, "   "):
        data = {} if reason is None else {"reason": reason}
        refused = client.post(url, data=data, cookies=staff, headers=HTML)
        assert refused.status_code == 422
        assert "Say why you need this password" in refused.text
        assert opened.password not in refused.text
    assert _audits(conn, "directory_account.revealed") == []

    reason = "Customer called: cannot find the login email"
    shown = client.post(url, data={"reason": reason}, cookies=staff, headers=HTML)
    assert shown.status_code == 200
    assert opened.password in shown.text
    assert "no-store" in shown.headers["cache-control"]
    assert _audits(conn, "directory_account.revealed") == [
        (
            "staff:ann@directorybolt.test",
            directories[0],
            {"account_id": str(opened.account_id), "reason": reason},
        )
    ]
    # A customer cannot use the staff route.
    as_customer = client.post(
        url, data={"reason": reason}, cookies=opened.customer.cookies, headers=HTML
    )
    assert as_customer.status_code == 403


def test_reveals_are_rate_limited_per_user(
    api: TestClient,
    portal_stack: PortalStack,
    conn: psycopg.Connection[Any],
    queries: Queries,
    directories: list[str],
) -> None:
    opened = _opened(api, portal_stack, conn, queries, directories, "vera@example.com")
    url = f"/jobs/{opened.lease.job_id}/accounts/{opened.account_id}/reveal"
    answers = [
        portal_stack.client.post(url, cookies=opened.customer.cookies, headers=HTML).status_code
        for _ in range(11)
    ]
    assert answers == [200] * 10 + [429]
    assert len(_audits(conn, "directory_account.revealed")) == 10


# -- Never in logs, reports or artifacts -----------------------------------------------------
def _pdf_text(data: bytes) -> str:
    return " ".join(
        unicodedata.normalize("NFKC", page.extract_text() or "")
        for page in PdfReader(io.BytesIO(data)).pages
    )


def test_the_password_is_in_no_log_csv_pdf_or_artifact(
    api: TestClient,
    portal_stack: PortalStack,
    conn: psycopg.Connection[Any],
    queries: Queries,
    directories: list[str],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    opened = _opened(api, portal_stack, conn, queries, directories, "wanda@example.com")
    again = _open(api, opened.lease, directories[0]).json()
    assert again["password"] == opened.password
    client = portal_stack.client
    shown = client.post(
        f"/jobs/{opened.lease.job_id}/accounts/{opened.account_id}/reveal",
        cookies=opened.customer.cookies,
        headers=HTML,
    )
    assert opened.password in shown.text
    staff_shown = client.post(
        f"/staff/jobs/{opened.lease.job_id}/accounts/{opened.account_id}/reveal",
        data={"reason": "checking the vault test"},
        cookies=portal_stack.staff(),
        headers=HTML,
    )
    assert opened.password in staff_shown.text
    _finish(api, conn, opened.lease, directories)

    csv_body = client.get(
        f"/jobs/{opened.lease.job_id}/report.csv", cookies=opened.customer.cookies
    )
    assert csv_body.status_code == 200
    pdf_body = client.get(
        f"/jobs/{opened.lease.job_id}/report.pdf", cookies=opened.customer.cookies
    )
    assert pdf_body.status_code == 200
    report_page = client.get(
        f"/jobs/{opened.lease.job_id}/report", cookies=opened.customer.cookies, headers=HTML
    )

    # The reports list the account, without its password, and say where to see it.
    sections = csv_body.content.decode("utf-8-sig").split("\r\n\r\n")
    assert len(sections) == 3
    (account_row,) = list(csv.DictReader(io.StringIO(sections[2])))
    assert account_row["login"] == opened.login
    assert account_row["site_url"] == f"http://127.0.0.1:9/{directories[0]}"
    assert account_row["password"].startswith("Not in this file")
    assert f"{PORTAL_URL}/jobs/{opened.lease.job_id}#accounts" in account_row["password"]
    pdf_text = _pdf_text(pdf_body.content)
    assert "Accounts we opened for you" in pdf_text
    assert opened.login in re.sub(r"\s+", "", pdf_text)
    assert "passwords are not in this report" in pdf_text
    assert opened.login in report_page.text

    # And the password is nowhere: not in any record logged by the orchestrator, the portal
    # or anything else in this process, not in their output, nor in the documents.
    captured = capfd.readouterr()
    haystacks = {
        "log records": "\n".join(
            f"{record.getMessage()} {record.__dict__}" for record in caplog.records
        ),
        "stdout": captured.out,
        "stderr": captured.err,
        "CSV": csv_body.content.decode("utf-8-sig"),
        "PDF bytes": pdf_body.content.decode("latin-1"),
        "PDF text": pdf_text,
        "report page": report_page.text,
        "audit log": str(conn.execute("select details from audit_log").fetchall()),
    }
    assert caplog.records, "the flow logged something to search"
    for name, text in haystacks.items():
        assert opened.password not in text, f"the password leaked into the {name}"
    artifacts_dir = Path(portal_stack.client.app.state.portal.settings.artifacts_dir)  # type: ignore[attr-defined]
    if artifacts_dir.exists():
        for path in artifacts_dir.rglob("*"):
            if path.is_file():
                assert opened.password.encode() not in path.read_bytes(), path


# -- Key rotation ------------------------------------------------------------------------------
def test_a_rotated_key_ring_opens_old_accounts_and_seals_new_ones_with_the_new_key(
    api: TestClient,
    portal_stack: PortalStack,
    conn: psycopg.Connection[Any],
    queries: Queries,
    directories: list[str],
    db_url: str,
) -> None:
    opened = _opened(api, portal_stack, conn, queries, directories, "xena@example.com")
    rotated = f"{new_key_spec('k2')},{LOCAL_VAULT_KEYS}"
    with TestClient(build(db_url, vault_keys=SecretStr(rotated))) as after_rotation:
        again = _open(after_rotation, opened.lease, directories[0])
        assert again.status_code == 200
        assert again.json()["password"] == opened.password, "sealed with the old key, still opens"
        _start(after_rotation, opened.lease, directories[1])
        assert _open(after_rotation, opened.lease, directories[1]).json()["created"] is True
    assert conn.execute(
        "select directory_id, key_id from directory_accounts order by directory_id"
    ).fetchall() == [(directories[0], "local-dev"), (directories[1], "k2")]

    # A ring that dropped the key too early: a clear refusal, logged without the secret.
    with TestClient(build(db_url, vault_keys=SecretStr(new_key_spec("k3")))) as dropped:
        refused = _open(dropped, opened.lease, directories[0])
    assert refused.status_code == 500
    assert "did not open" in refused.json()["detail"]
    customer_page = TestClient(
        portal_app(db_url, portal_stack.supabase.url, vault_keys=SecretStr(new_key_spec("k3"))),
        base_url=PORTAL_URL,
    )
    with customer_page:
        shown = customer_page.post(
            f"/jobs/{opened.lease.job_id}/accounts/{opened.account_id}/reveal",
            cookies=opened.customer.cookies,
            headers=HTML,
        )
    assert shown.status_code == 503
    assert "We could not show this password just now" in shown.text
    assert opened.password not in shown.text
