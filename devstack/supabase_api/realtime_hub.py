"""Fan-out of committed broadcasts to the channels joined on this server, by topic."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class BroadcastRow:
    """One `realtime.messages` row with extension `broadcast`."""

    id: str
    topic: str
    event: str | None
    payload: Any
    private: bool

    @classmethod
    def from_mapping(cls, row: dict[str, Any]) -> BroadcastRow:
        if not isinstance(row.get("id"), str) or not isinstance(row.get("topic"), str):
            raise ValueError(f"not a realtime.messages row: keys {sorted(row)}")
        event = row.get("event")
        return cls(
            id=row["id"],
            topic=row["topic"],
            event=event if isinstance(event, str) else None,
            payload=row.get("payload"),
            private=bool(row.get("private")),
        )


class Subscriber(Protocol):
    def deliver(self, row: BroadcastRow) -> None: ...


class Hub:
    """Topic → joined channels. Delivery is synchronous (each subscriber only queues a frame),
    so one slow socket never holds up the others."""

    def __init__(self) -> None:
        self._subscribers: defaultdict[str, set[Subscriber]] = defaultdict(set)

    def add(self, topic: str, subscriber: Subscriber) -> None:
        self._subscribers[topic].add(subscriber)

    def remove(self, topic: str, subscriber: Subscriber) -> None:
        subscribers = self._subscribers.get(topic)
        if subscribers is None:
            return
        subscribers.discard(subscriber)
        if not subscribers:
            del self._subscribers[topic]

    def publish(self, row: BroadcastRow) -> int:
        """Offer `row` to every channel on its topic; returns how many were offered it."""
        # A copy: delivering may shut a channel down, which removes it from the set.
        subscribers = list(self._subscribers.get(row.topic, ()))
        for subscriber in subscribers:
            subscriber.deliver(row)
        return len(subscribers)

    def topic_count(self) -> int:
        return len(self._subscribers)
