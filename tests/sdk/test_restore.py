"""Restore confirmation: after ``restore_memory`` the agent reports the resulting hashes, and the check compares."""

from __future__ import annotations

import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from soar.broker import EmbeddedBroker
from soar.sdk import DictMemoryStore, SoarAgent
from soar.sdk.restore import check_restoration, command_id_of, confirmation_task_id
from soar.telemetry.signing import value_hash
from soar.topics import TopicMap
from tests.sdk.support import command, read_topic


def test_check_restoration_reports_matches_mismatches_and_missing() -> None:
    entries = {"policy": "good", "planted": None, "other": "x"}
    reads = [("long_term", "policy", value_hash("good")), ("long_term", "planted", ""), ("scratch", "other", "?")]
    check = check_restoration("long_term", entries, reads)
    assert not check.matches and check.missing == ["other"] and check.mismatched == []
    reads.append(("long_term", "other", value_hash("tampered")))
    check = check_restoration("long_term", entries, reads)
    assert check.mismatched == ["other"] and not check.matches
    assert check_restoration("long_term", entries, [*reads[:2], ("long_term", "other", value_hash("x"))]).matches
    cid = uuid.uuid4()
    assert command_id_of(confirmation_task_id(cid)) == str(cid) and command_id_of("task-1") is None


@pytest.mark.integration
async def test_agent_confirms_restored_memory_even_while_quarantined(broker: EmbeddedBroker, topics: TopicMap) -> None:
    memory = DictMemoryStore()
    memory.put("long_term", "policy", "poisoned")
    memory.put("long_term", "planted", "evil")
    agent = SoarAgent("restorer", Ed25519PrivateKey.generate(), broker.bootstrap, topics, memory=memory, announce=False)
    async with agent:
        await agent.apply_command(command("restorer", "quarantine"))
        cmd = command(
            "restorer", "restore_memory", {"store": "long_term", "entries": {"policy": "good", "planted": None}}
        )
        await agent.apply_command(cmd)
        await agent.flush()
    assert memory.items("long_term") == {"policy": "good"}
    records = await read_topic(broker.bootstrap, topics.telemetry, min_count=2)
    reads = [
        o for _, o in records if o["kind"] == "memory_read" and o["task_id"] == confirmation_task_id(cmd.command_id)
    ]
    assert {(o["payload"]["key"], o["payload"]["value_hash"]) for o in reads} == {
        ("policy", value_hash("good")),
        ("planted", ""),
    }
    triples = [(o["payload"]["store"], o["payload"]["key"], o["payload"]["value_hash"]) for o in reads]
    assert check_restoration("long_term", cmd.params["entries"], triples).matches
