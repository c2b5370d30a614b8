"""The mailbox: caught messages in memory, shared by the SMTP thread and the HTTP thread."""

from __future__ import annotations

import threading
from collections import OrderedDict

from devstack.mailcatcher.messages import CaughtMessage

DEFAULT_MAX_MESSAGES = 1000


class Mailbox:
    def __init__(self, max_messages: int = DEFAULT_MAX_MESSAGES) -> None:
        if max_messages < 1:
            raise ValueError("max_messages must be at least 1")
        self.max_messages = max_messages
        # SMTP sessions and HTTP requests run on different threads' event loops.
        self._lock = threading.Lock()
        self._messages: OrderedDict[str, CaughtMessage] = OrderedDict()

    def add(self, message: CaughtMessage) -> None:
        with self._lock:
            self._messages[message.id] = message
            while len(self._messages) > self.max_messages:
                # A catcher that ran all week must not eat the machine: the oldest go first.
                self._messages.popitem(last=False)

    def newest_first(self, to: str | None = None) -> list[CaughtMessage]:
        with self._lock:
            messages = list(reversed(self._messages.values()))
        if to is None:
            return messages
        wanted = to.strip().lower()
        return [message for message in messages if wanted in message.recipients]

    def get(self, message_id: str) -> CaughtMessage | None:
        with self._lock:
            return self._messages.get(message_id)

    def clear(self) -> int:
        with self._lock:
            count = len(self._messages)
            self._messages.clear()
            return count
