"""Broker helpers for SDK and simulator tests: read a whole topic, send control commands."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from soar.telemetry.control import ControlCommand


async def read_topic(
    bootstrap: str, topic: str, *, min_count: int = 1, wait_s: float = 30.0, idle: float = 0.5
) -> list[tuple[bytes | None, dict[str, Any]]]:
    """Every (key, JSON value) on ``topic`` from the beginning: waits for ``min_count``, then until idle."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=50
    )
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            await consumer.topics()
            parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        out: list[tuple[bytes | None, dict[str, Any]]] = []
        deadline = time.monotonic() + wait_s
        last_new = time.monotonic()
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for msgs in batch.values():
                for m in msgs:
                    out.append((m.key, orjson.loads(m.value or b"null")))
                    last_new = time.monotonic()
            if len(out) >= min_count and time.monotonic() - last_new > idle:
                break
        return out
    finally:
        await consumer.stop()


async def send_commands(bootstrap: str, topic: str, commands: list[ControlCommand]) -> None:
    """Produce control commands keyed by their agent id (as the responder does)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for cmd in commands:
            await producer.send_and_wait(topic, cmd.model_dump_json().encode(), key=cmd.agent_id.encode())
    finally:
        await producer.stop()
    await asyncio.sleep(0)


def command(agent_id: str, kind: str, params: dict[str, Any] | None = None, **kw: Any) -> ControlCommand:
    """A control command with a fresh id."""
    return ControlCommand(
        command_id=kw.pop("command_id", uuid.uuid4()), agent_id=agent_id, command=kind, params=params or {}, **kw
    )
