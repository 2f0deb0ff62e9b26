"""Test helpers: keys and signed event bytes."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from soar.telemetry.events import utcnow
from soar.telemetry.signing import key_id, public_key_b64, sign_object


class TestAgent:
    """An agent identity for tests: a key pair and a signer."""

    __test__ = False

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id
        self.key = Ed25519PrivateKey.generate()
        self.kid = key_id(self.key.public_key())
        self.public_b64 = public_key_b64(self.key.public_key())

    def event(self, kind: str, payload: dict[str, Any], *, sign: bool = True, **env: Any) -> dict[str, Any]:
        """An event object (signed unless ``sign=False``)."""
        obj: dict[str, Any] = {
            "event_id": str(env.pop("event_id", uuid.uuid4())),
            "ts": env.pop("ts", utcnow().isoformat()),
            "agent_id": env.pop("agent_id", self.agent_id),
            "task_id": env.pop("task_id", "task-1"),
            "session_id": "s1",
            "kind": kind,
            "payload": payload,
            **env,
        }
        return sign_object(obj, self.key, self.kid) if sign else obj

    def raw(self, kind: str, payload: dict[str, Any], **kw: Any) -> bytes:
        """The event as bytes on the wire."""
        return orjson.dumps(self.event(kind, payload, **kw))
