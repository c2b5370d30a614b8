"""Phoenix v1 JSON frames (`vsn=1.0.0`), the wire format Supabase Realtime speaks.

Every frame is an object `{"topic", "event", "payload", "ref"}`; a client may add `join_ref`.
Server frames follow Phoenix's V1 serializer, which never sends `join_ref`, and are shaped so
the official `realtime` client's pydantic `ServerMessage` adapter accepts them (pushes carry
`"ref": null`; replies carry the ref they answer).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

PHOENIX_TOPIC = "phoenix"
CHANNEL_PREFIX = "realtime:"


class ProtocolError(ValueError):
    """A client frame that is not a Phoenix v1 message."""


@dataclass(frozen=True)
class ClientMessage:
    topic: str
    event: str
    payload: dict[str, Any]
    ref: str | None
    join_ref: str | None


def _optional_ref(frame: dict[str, Any], key: str) -> str | None:
    value = frame.get(key)
    if value is None:
        return None
    if isinstance(value, str | int):
        return str(value)
    raise ProtocolError(f"{key}: expected a string or null")


def parse(text: str) -> ClientMessage:
    try:
        frame = json.loads(text)
    except json.JSONDecodeError as error:
        raise ProtocolError(f"not JSON: {error.msg}") from error
    if not isinstance(frame, dict):
        raise ProtocolError("a frame is a JSON object")
    topic, event, payload = frame.get("topic"), frame.get("event"), frame.get("payload", {})
    if not isinstance(topic, str):
        raise ProtocolError("topic: expected a string")
    if not isinstance(event, str):
        raise ProtocolError("event: expected a string")
    if not isinstance(payload, dict):
        raise ProtocolError("payload: expected an object")
    return ClientMessage(
        topic, event, payload, _optional_ref(frame, "ref"), _optional_ref(frame, "join_ref")
    )


def encode(topic: str, event: str, payload: Any, ref: str | None = None) -> str:
    return json.dumps({"topic": topic, "event": event, "payload": payload, "ref": ref})


def ok_reply(topic: str, ref: str | None, response: dict[str, Any] | None = None) -> str:
    return encode(topic, "phx_reply", {"status": "ok", "response": response or {}}, ref)


def error_reply(topic: str, ref: str | None, reason: str) -> str:
    return encode(topic, "phx_reply", {"status": "error", "response": {"reason": reason}}, ref)


def broadcast(topic: str, event: str | None, payload: Any, message_id: str) -> str:
    """A Broadcast-from-Database delivery, as Realtime pushes it."""
    body = {"event": event, "payload": payload, "type": "broadcast", "meta": {"id": message_id}}
    return encode(topic, "broadcast", body)


def system(topic: str, *, status: str, message: str, channel: str) -> str:
    """Realtime's out-of-band channel notice; with status `error` it precedes a shutdown."""
    body = {"extension": "system", "status": status, "message": message, "channel": channel}
    return encode(topic, "system", body)


def close(topic: str, join_ref: str | None) -> str:
    """Phoenix tells the client a channel process ended (after a leave or a shutdown)."""
    return encode(topic, "phx_close", {}, join_ref)
