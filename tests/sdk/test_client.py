"""SoarAgent through the real embedded broker: signed telemetry out, control commands in."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from soar.broker import EmbeddedBroker
from soar.sdk import AgentQuarantined, SdkError, SoarAgent, SQLiteMemoryStore
from soar.sdk.client import partition_for_key
from soar.telemetry.events import EVENT_ADAPTER, EVENT_KINDS
from soar.telemetry.signing import canonical_bytes, key_id, load_public_key, public_key_b64, value_hash, verify_bytes
from soar.topics import TopicMap
from tests.sdk.support import command, read_topic, send_commands

pytestmark = pytest.mark.integration


def _agent(
    broker: EmbeddedBroker, topics: TopicMap, agent_id: str, memory: SQLiteMemoryStore | None = None
) -> SoarAgent:
    return SoarAgent(agent_id, Ed25519PrivateKey.generate(), broker.bootstrap, topics, memory=memory, task_id="t0")


async def test_soar_agent_events_are_signed_and_verify(
    broker: EmbeddedBroker, topics: TopicMap, tmp_path: Path
) -> None:
    memory = SQLiteMemoryStore(tmp_path / "mem.db")
    agent = _agent(broker, topics, "web-researcher", memory)
    pub = load_public_key(agent.public_key_b64)
    async with agent:
        ids = [await agent.input("web", "an article about tides", origin="https://example.org/tides")]
        ids.append(await agent.output("Tides are caused by the moon.", destination="user"))
        with agent.task("task-7"):
            call = await agent.tool_call("search", {"q": "tides"})
            ids += [call, await agent.tool_result("search", call, "3 results")]
        ids.append(await agent.memory_write("long_term", "pref", "user prefers short answers", "user"))
        ids.append(await agent.memory_read("long_term", "pref"))
        ids.append(
            await agent.message("report-writer", "draft ready", delegation={"task": "write report", "args": {"n": 1}})
        )
        ids.append(await agent.credential_use("cred-1", "https://api.example.org", "read"))
        ids.append(await agent.heartbeat())
        await agent.flush()
    assert memory.get("long_term", "pref") == "user prefers short answers"

    records = await read_topic(broker.bootstrap, topics.telemetry, min_count=len(ids) + 2)
    by_id = {obj["event_id"]: (key, obj) for key, obj in records}
    assert set(ids) <= set(by_id)
    kinds = {obj["kind"] for _, obj in records}
    assert kinds == set(EVENT_KINDS)
    for key, obj in records:
        assert key == b"web-researcher"
        assert obj["kid"] == key_id(pub)
        assert verify_bytes(canonical_bytes(obj), obj["sig"], pub)
        tampered = {**obj, "task_id": "other"}
        assert not verify_bytes(canonical_bytes(tampered), obj["sig"], pub)
        EVENT_ADAPTER.validate_python(obj)
    _, call_obj = by_id[call]
    assert call_obj["task_id"] == "task-7" and call_obj["payload"]["call_id"] == call
    _, read_obj = by_id[ids[-4]]
    assert read_obj["payload"]["value_hash"] == value_hash("user prefers short answers")
    assert by_id[ids[0]][1]["task_id"] == "t0"
    lifecycle = [o["payload"]["state"] for _, o in records if o["kind"] == "lifecycle"]
    assert lifecycle == ["started", "heartbeat", "stopped"]
    assert public_key_b64(agent.public_key) == agent.public_key_b64


async def test_soar_agent_control_reaches_only_its_agent(
    broker: EmbeddedBroker, topics: TopicMap, tmp_path: Path
) -> None:
    mem_a = SQLiteMemoryStore(tmp_path / "a.db")
    a = _agent(broker, topics, "crm-assistant", mem_a)
    b = _agent(broker, topics, "scheduler")
    async with a, b:
        mem_a.put("long_term", "invoice_policy", "poisoned")
        mem_a.put("long_term", "bad_key", "x")
        restore = command(
            "crm-assistant",
            "restore_memory",
            {"store": "long_term", "entries": {"invoice_policy": "approved by manager", "bad_key": None}},
        )
        quarantine = command("crm-assistant", "quarantine", reason="test")
        await send_commands(broker.bootstrap, topics.control, [restore, restore, quarantine, quarantine])
        got = await a.wait_for_command("quarantine", timeout=10)
        assert got.command.command_id == quarantine.command_id
        await a.wait_for_command("restore_memory", timeout=1)
        await asyncio.sleep(0.3)  # let the repeats arrive too

        assert mem_a.get("long_term", "invoice_policy") == "approved by manager"
        assert mem_a.get("long_term", "bad_key") is None
        assert [c.kind for c in a.applied_commands] == ["restore_memory", "quarantine"]
        assert a.duplicate_commands == 2
        assert a.quarantined and not b.quarantined
        assert b.applied_commands == []

        with pytest.raises(AgentQuarantined, match="quarantined"):
            await a.tool_call("http.post", {"url": "https://exfil.example.net/collect"})
        with pytest.raises(AgentQuarantined):
            await a.memory_write("long_term", "k", "v", "user")
        assert mem_a.get("long_term", "k") is None
        await a.heartbeat()  # lifecycle still goes out
        await b.tool_call("calendar.create", {"title": "standup"})  # the other agent is untouched

        a.tokens.update({"c1": "tok1", "c2": "tok2"})
        await send_commands(
            broker.bootstrap,
            topics.control,
            [command("crm-assistant", "revoke", {"credential_ids": ["c1"]}), command("crm-assistant", "release")],
        )
        await a.wait_for_command("release", timeout=10)
        assert a.tokens == {"c2": "tok2"} and "c1" in a.revoked
        assert not a.quarantined
        await a.tool_call("crm.lookup", {"id": 1})
        await send_commands(broker.bootstrap, topics.control, [command("crm-assistant", "revoke")])
        await a.wait_for_command("revoke", timeout=10, since=a.applied_commands[-1].received_at)
        assert a.tokens == {}


async def test_soar_agent_follows_only_its_hashed_partition(broker: EmbeddedBroker, topics: TopicMap) -> None:
    agent = _agent(broker, topics, "finance-ops")
    async with agent:
        assert agent.control_partitions == [partition_for_key(b"finance-ops", [0, 1, 2, 3])]
        # a command for this agent sent under another agent's key lands elsewhere (or is filtered): never applied
        other = command("mail-triage", "quarantine")
        await send_commands(broker.bootstrap, topics.control, [other])
        await asyncio.sleep(0.5)
        assert not agent.quarantined


async def test_soar_agent_hooks_and_timeout(broker: EmbeddedBroker, topics: TopicMap) -> None:
    seen: list[str] = []

    async def hook(applied: object) -> None:
        seen.append(getattr(applied, "kind", ""))

    agent = SoarAgent(
        "report-writer", Ed25519PrivateKey.generate(), broker.bootstrap, topics, on_command=hook, announce=False
    )
    with pytest.raises(SdkError, match="not started"):
        await agent.heartbeat()
    async with agent:
        with pytest.raises(TimeoutError):
            await agent.wait_for_command("quarantine", timeout=0.2)
        await send_commands(broker.bootstrap, topics.control, [command("report-writer", "quarantine")])
        await agent.wait_for_command("quarantine", timeout=10)
    assert seen == ["quarantine"]


async def test_soar_agent_drops_garbage_commands(broker: EmbeddedBroker, topics: TopicMap) -> None:
    agent = _agent(broker, topics, "mail-triage")
    async with agent:
        assert await agent.handle_command_bytes(b"{not json") is None
        assert await agent.handle_command_bytes(b'{"command_id": "x"}') is None
        assert agent.dropped_commands == 2
        cmd = command("mail-triage", "quarantine", command_id=uuid.uuid4())
        assert await agent.apply_command(cmd) is not None
        assert await agent.apply_command(cmd) is None
        assert agent.quarantined
