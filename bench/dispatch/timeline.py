"""One job's dispatch, timed: the form saved as the customer, then the moments the database
recorded (its clock and ours are the same machine's)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

# The same call the portal's POST /orders/{id}/business makes under the customer's JWT.
IMPERSONATE = "select dev.impersonate(%(user_id)s)"
SAVE_AS_CUSTOMER = """
select customers_save_business(order_id => %(order_id)s, business => %(business)s::jsonb,
                               remove_logo => false);
"""
NEW_ORDER = "select dev.create_paid_order(%(email)s, 'starter', '{}'::jsonb)"
SAMPLE_BUSINESS = "select dev.sample_business()"
ORDER_OWNER = """
select o.id, c.user_id from orders o join customers c on c.id = o.customer_id
 where o.id = %(order_id)s
"""
MOMENTS = """
select j.id,
       extract(epoch from (select min(a.at) from audit_log a
                            where a.job_id = j.id and a.action = 'job.claimed')) as claimed,
       extract(epoch from (select min(a.at) from audit_log a
                            where a.job_id = j.id and a.action = 'directory.started')) as started,
       j.status::text as status
  from jobs j join orders o on o.id = j.order_id
 where o.id = %(order_id)s
"""


@dataclass(frozen=True)
class Dispatch:
    """Seconds from the form's commit to the claim and to the first attempt's start."""

    to_claim: float
    to_start: float


@dataclass(frozen=True)
class Order:
    """A paid starter order whose customer has not filled the form yet, and what they will
    type into it (the seed's complete sample business)."""

    id: Any
    user_id: Any
    business: Any


def new_order(db_url: str, n: int) -> Order:
    with psycopg.connect(db_url, autocommit=True) as conn:
        created = conn.execute(NEW_ORDER, {"email": f"dispatch-{n}@bench.example"}).fetchone()
        assert created is not None
        row = conn.execute(ORDER_OWNER, {"order_id": created[0]}).fetchone()
        business = conn.execute(SAMPLE_BUSINESS).fetchone()
    assert row is not None
    assert business is not None
    return Order(row[0], row[1], business[0])


def save_form(db_url: str, order: Order) -> float:
    """Save the complete business as the customer; returns when it committed (epoch s)."""
    with psycopg.connect(db_url) as conn:
        conn.execute(IMPERSONATE, {"user_id": order.user_id})
        row = conn.execute(
            SAVE_AS_CUSTOMER, {"order_id": order.id, "business": Jsonb(order.business)}
        ).fetchone()
        conn.commit()
        committed = time.time()
    if row is None or not row[0].get("job_created"):
        raise RuntimeError(f"saving the form enqueued no job: {row}")
    return committed


def wait_dispatched(db_url: str, order_id: Any, saved_at: float, timeout: float) -> Dispatch:
    """Poll (every 20 ms; the times are the database's, not this loop's) until the job's
    first attempt has started, then until it is finished so the workers are idle again."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(db_url, autocommit=True) as conn:
        dispatched: Dispatch | None = None
        while time.monotonic() < deadline:
            row = conn.execute(MOMENTS, {"order_id": order_id}).fetchone()
            if row is not None and row[2] is not None and dispatched is None:
                dispatched = Dispatch(float(row[1]) - saved_at, float(row[2]) - saved_at)
            if dispatched is not None and row is not None and row[3] in ("complete", "failed"):
                return dispatched
            time.sleep(0.02)
    raise TimeoutError(f"order {order_id}: not dispatched and finished within {timeout} s")
