"""Test helpers: keys, signed event bytes, and settings for real service processes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from soar.broker import free_port
from soar.config import Settings
from soar.ingest.decoders import RawRecord
from soar.runtime import WorkerRuntime
from soar.telemetry.events import utcnow
from soar.telemetry.findings import Finding
from soar.telemetry.signing import key_id, public_key_b64, sign_object
from soar.topics import TopicMap


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


def service_settings(data_dir: Path, db_url: str, bootstrap: str, topics: TopicMap, app: str, **over: Any) -> Settings:
    """Settings for real ``soar worker`` / ``soar api`` processes on the test broker's topics, in their own
    consumer group (``soar-<app>-<random>``) and on a free API port; ``over`` overrides any setting."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": db_url,
        "broker": bootstrap,
        "api_port": free_port(),
        "topic_telemetry": topics.telemetry,
        "topic_findings": topics.findings,
        "topic_control": topics.control,
        "topic_deadletter": topics.deadletter,
        "app_id": f"soar-{app}-{uuid.uuid4().hex[:8]}",
    }
    return Settings(**{**values, **over})


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[FastAPI]:
    """``app`` with its lifespan run around the block, as a server would: what it opens (the authorizer's
    database pool) is closed before the test's database is dropped."""
    async with app.router.lifespan_context(app):
        yield app


async def handle_batch(rt: WorkerRuntime, *raws: bytes, refresh: bool = False) -> list[Finding]:
    """The findings a worker runtime makes from ``raws`` as one telemetry batch (dead letters dropped);
    ``refresh`` reloads its directory from the store first."""
    out: list[Finding] = []

    async def send_finding(key: bytes | None, value: bytes) -> None:
        out.append(Finding.model_validate_json(value))

    async def send_dead(key: bytes | None, value: bytes) -> None:
        return None

    if refresh:
        await rt.refresh_directory()
    await rt.handle_telemetry([RawRecord(r, "t", 0, i) for i, r in enumerate(raws)], send_finding, send_dead)
    return out
