"""SoarAgentSync: the blocking facade, through the real broker."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from soar.broker import EmbeddedBroker
from soar.sdk import AgentQuarantined, SoarAgentSync, SQLiteMemoryStore
from soar.telemetry.signing import canonical_bytes, verify_bytes
from soar.topics import TopicMap
from tests.sdk.support import command, read_topic, send_commands

pytestmark = pytest.mark.integration


async def test_soar_agent_sync_emits_and_obeys(broker: EmbeddedBroker, topics: TopicMap, tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    memory = SQLiteMemoryStore(tmp_path / "mem.db")

    def run_agent() -> list[str]:
        with SoarAgentSync("scheduler", key, broker.bootstrap, topics, memory=memory) as agent:
            with agent.task("plan-week"):
                call = agent.tool_call("calendar.create", {"title": "standup"})
                agent.tool_result("calendar.create", call, "created")
            agent.memory_write("long_term", "tz", "Europe/Paris", "user")
            assert agent.recall("long_term", "tz") == "Europe/Paris"
            agent.flush()
            return [call]

    ids = await asyncio.to_thread(run_agent)
    records = await read_topic(broker.bootstrap, topics.telemetry, min_count=6)
    objs = {o["event_id"]: o for _, o in records}
    assert objs[ids[0]]["task_id"] == "plan-week"
    pub = key.public_key()
    assert all(verify_bytes(canonical_bytes(o), o["sig"], pub) for o in objs.values())

    def quarantined_agent() -> None:
        with SoarAgentSync("scheduler", key, broker.bootstrap, topics) as agent:
            asyncio.run(send_commands(broker.bootstrap, topics.control, [command("scheduler", "quarantine")]))
            applied = agent.wait_for_command("quarantine", timeout=10)
            assert applied.kind == "quarantine" and agent.quarantined
            with pytest.raises(AgentQuarantined):
                agent.output("hello")
            agent.heartbeat()

    await asyncio.to_thread(quarantined_agent)
