"""An SMTP catcher with a web inbox, like the Inbucket / Mailpit that `supabase start` runs.

SMTP on 127.0.0.1:54325 (aiosmtpd; any AUTH is accepted, nothing is relayed) and HTTP on
54324: an inbox for people at `/` (it reads on a phone too), each message at
`/messages/<id>` with its HTML part alone at `/messages/<id>/html` (sandboxed; open it at a
phone's width to see the mail as a phone does), and a JSON API for tests at `/api/messages`.
Messages live in memory, newest first, up to `max_messages`. Run it with
`python -m devstack.mailcatcher`.
"""

from __future__ import annotations

from devstack.mailcatcher.app import create_app
from devstack.mailcatcher.runner import MailCatcher
from devstack.mailcatcher.store import Mailbox

__all__ = ["MailCatcher", "Mailbox", "create_app"]
