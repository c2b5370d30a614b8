"""dbolt.mailer's List-Unsubscribe: one header line as RFC 2369 writes it, never folded into
RFC 2047 encoded words (which Python's email package does to a long URL, and which no mail
client decodes in this header), with RFC 8058's one-click companion; and only a plain URL."""

from __future__ import annotations

import email
import email.policy

import pytest

from dbolt import mailer

URL = "https://portal.directorybolt.example/unsubscribe/" + "Ab-_" * 10 + "xyz"


def test_a_long_unsubscribe_url_stays_one_plain_line() -> None:
    message = mailer.build_message("a@example.com", "Reminder", "text", "<p>html</p>", URL)
    raw = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))

    assert f"\r\nList-Unsubscribe: <{URL}>\r\n".encode() in raw
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(parsed["List-Unsubscribe"]) == f"<{URL}>"


def test_mail_without_an_unsubscribe_url_has_neither_header() -> None:
    message = mailer.build_message("a@example.com", "Your report", "text", "<p>html</p>")
    assert "List-Unsubscribe" not in message
    assert "List-Unsubscribe-Post" not in message


@pytest.mark.parametrize(
    "bad", ["mailto:x@example.com", f"{URL}>, <https://evil.example/", f"{URL}\r\nBcc: x@y", ""]
)
def test_only_one_plain_http_url_is_taken(bad: str) -> None:
    with pytest.raises(ValueError, match="unsubscribe_url"):
        mailer.build_message("a@example.com", "Reminder", "text", None, bad)
