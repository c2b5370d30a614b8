"""The package's promise in words (dbolt/package_promise.py): what the job page, email, CSV
and PDF say about the count promised, delivered, replaced and refunded, and what became of
each directory that was not submitted."""

from __future__ import annotations

from datetime import UTC, datetime

from dbolt.package_promise import Promise, format_amount


def promise(**overrides: object) -> Promise:
    values: dict[str, object] = {
        "promised": 50,
        "delivered": 3,
        "in_hand": 0,
        "replaced": 2,
        "working": 0,
        "shortfall": 47,
    }
    return Promise.from_row(values | overrides)


def test_a_complete_job_says_what_it_delivered_and_what_was_refunded() -> None:
    refunded = promise(
        refund_amount=14006,
        refund_currency="usd",
        refunded_amount=14006,
        refunded_at=datetime(2026, 12, 4, tzinfo=UTC),
    )
    assert refunded.sentences("complete") == [
        "Your package promised 50 directories: 3 delivered.",
        "2 directories could not take your business; each was replaced by the next directory "
        "that could, while any were left.",
        "We could not deliver 47 directories: $140.06 was refunded to your card.",
    ]
    owed = promise(refund_amount=14006, refund_currency="usd")
    assert owed.sentences("complete")[-1] == (
        "We could not deliver 47 directories: $140.06 is being refunded to your card."
    )
    assert promise().sentences("complete")[-1] == "We could not deliver 47 directories."


def test_a_running_job_says_the_shortfall_so_far_and_the_rule() -> None:
    said = promise(in_hand=1, replaced=0).sentences("in_progress")
    assert said == [
        "Your package promised 50 directories: 3 delivered so far.",
        "1 more directory sent, waiting for a check by our team or for you.",
        "47 directories short so far: whatever we cannot deliver is refunded pro rata when "
        "your job completes.",
    ]
    assert promise(shortfall=0, replaced=0).sentences("complete") == [
        "Your package promised 50 directories: 3 delivered."
    ]


def test_each_directory_not_submitted_says_what_became_of_it() -> None:
    owed = promise(refund_amount=100, refund_currency="usd")
    row = {"status": "failed", "attempts": 1}
    assert owed.fate({**row, "replaced_by": "x", "replaced_by_name": "X"}, "complete") == (
        "Replaced by X."
    )
    assert owed.fate(row, "complete") == (
        "Refunded: part of the refund for directories we could not deliver."
    )
    assert promise().fate(row, "complete") == "Not delivered."
    assert owed.fate({"status": "queued", "attempts": 1}, "pending") == "Being retried."
    assert owed.fate({"status": "needs_review"}, "complete") == "Being checked by our team."
    assert owed.fate({"status": "needs_action"}, "complete") == "Waiting for you."
    assert owed.fate({"status": "submitted"}, "complete") is None
    assert owed.fate(row, "in_progress") is None


def test_amounts_read_as_money() -> None:
    assert format_amount(14900, "usd") == "$149"
    assert format_amount(7450, "gbp") == "£74.50"
    assert format_amount(1250, "chf") == "12.50 CHF"
    assert format_amount(None, "usd") is None
