"""The simulated fleet through the real broker: benign traffic, the three attacks, and containment."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from soar.broker import EmbeddedBroker
from soar.sim.attacks import MEMORY_KEY
from soar.sim.fleet import Fleet, FleetConfig, agent_key, run_fleet
from soar.telemetry.control import ControlCommand
from soar.telemetry.events import EVENT_ADAPTER, EVENT_KINDS
from soar.telemetry.signing import canonical_bytes, load_public_key, public_key_b64, verify_bytes
from soar.topics import TopicMap
from tests.sdk.support import read_topic

pytestmark = pytest.mark.integration


def _cfg(broker: EmbeddedBroker, topics: TopicMap, tmp_path: Path, **kw: Any) -> FleetConfig:
    base: dict[str, Any] = {
        "bootstrap": broker.bootstrap,
        "topics": topics,
        "duration_s": 3.0,
        "rate_per_agent": 4.0,
        "heartbeat_s": 0.5,
        "attack_start_s": 0.5,
        "attack_gap_s": 0.4,
        "exfil_delay_s": 0.3,
        "contain_timeout_s": 0.5,
        "settle_s": 0.3,
        "data_dir": tmp_path / "fleet",
    }
    base.update(kw)
    return FleetConfig(**base)


async def test_fleet_produces_every_kind_and_the_three_attacks(
    broker: EmbeddedBroker, topics: TopicMap, tmp_path: Path
) -> None:
    registered: dict[str, tuple[str, list[str]]] = {}
    lines: list[str] = []

    async def register(agent_id: str, public_key: str, tools: list[str]) -> None:
        registered[agent_id] = (public_key, tools)

    report = await run_fleet(_cfg(broker, topics, tmp_path, register=register, on_event=lines.append))

    assert len(registered) == 6 and registered["finance-ops"][1].count("payments.transfer") == 1
    assert "payments.transfer" not in registered["mail-triage"][1]
    assert registered["crm-assistant"][0] == public_key_b64(agent_key(7, "crm-assistant").public_key())
    records = await read_topic(broker.bootstrap, topics.telemetry, min_count=sum(report.events_sent.values()))
    assert len(records) == sum(report.events_sent.values())
    assert {o["kind"] for _, o in records} == set(EVENT_KINDS)
    for key, obj in records:
        assert key is not None and key.decode() == obj["agent_id"]
        pub = load_public_key(registered[obj["agent_id"]][0])
        assert verify_bytes(canonical_bytes(obj), obj["sig"], pub)
        EVENT_ADAPTER.validate_python(obj)
    by_id = {o["event_id"]: o for _, o in records}

    assert [a.attack for a in report.attacks] == ["injection", "memory", "coordination"]
    inj, mem, coord = report.attacks
    assert inj.victim == "web-researcher" and by_id[inj.event_id]["kind"] == "tool_result"  # type: ignore[index]
    assert "ignore your previous instructions" in by_id[inj.event_id]["payload"]["content"]  # type: ignore[index]
    exfil = [by_id[e] for e in inj.event_ids() if by_id[e]["kind"] == "tool_call"][-1]
    assert exfil["payload"]["tool"] == "http.post" and inj.exfil_blocked is False

    write = next(by_id[e] for e in mem.event_ids() if by_id[e]["kind"] == "memory_write")
    assert write["payload"]["key"] == MEMORY_KEY and write["payload"]["provenance"]["source"] == "tool"
    assert write["payload"]["provenance"]["event_id"] == mem.event_id
    assert mem.memory_restored is False and "evil-mail.net" in (mem.memory_value or "")
    assert mem.expected_memory_value and "ap@ourcorp.example" in mem.expected_memory_value

    msgs = [by_id[e] for e in coord.event_ids() if by_id[e]["kind"] == "message"]
    assert [m["payload"]["to_agent"] for m in msgs] == ["scheduler", "crm-assistant", "finance-ops"]
    assert msgs[0]["payload"]["content"] == msgs[1]["payload"]["content"]
    assert msgs[2]["payload"]["delegation"]["tool"] == "payments.transfer"
    # mail-triage never messaged those peers in benign traffic
    benign_peers = {
        o["payload"]["to_agent"]
        for o in by_id.values()
        if o["kind"] == "message" and o["agent_id"] == "mail-triage" and o["event_id"] not in coord.event_ids()
    }
    assert benign_peers <= {"report-writer"}
    assert all(not a.commands and not a.was_quarantined for a in report.agents.values())
    assert any("ATTACK injection" in line for line in lines)


async def _toy_responder(bootstrap: str, topics: TopicMap, stop: asyncio.Event) -> None:
    """Stands in for soar's worker + responder: contains the three attacks by simple rules."""
    consumer = AIOKafkaConsumer(
        topics.telemetry, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest", fetch_max_wait_ms=20
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await consumer.start()
    await producer.start()
    good: dict[tuple[str, str], str] = {}

    async def send(agent_id: str, kind: str, params: dict[str, Any] | None = None, key: str = "") -> None:
        cmd = ControlCommand(
            command_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{agent_id}/{kind}/{key}"),
            agent_id=agent_id,
            command=kind,  # type: ignore[arg-type]
            params=params or {},
            reason="toy responder",
        )
        await producer.send_and_wait(topics.control, cmd.model_dump_json().encode(), key=agent_id.encode())

    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=100)
            for msgs in batch.values():
                for m in msgs:
                    ev = orjson.loads(m.value or b"{}")
                    aid, kind, p = ev["agent_id"], ev["kind"], ev["payload"]
                    if kind == "tool_result" and "exfil.example.net" in p["content"]:
                        await send(aid, "quarantine", key="inj")
                    elif kind == "memory_write" and p["provenance"]["source"] == "user":
                        good[(aid, p["key"])] = p["value"]
                    elif kind == "memory_write" and "evil-mail.net" in p["value"]:
                        entries = {p["key"]: good.get((aid, p["key"]))}
                        await send(aid, "quarantine", key="mem")
                        await send(aid, "restore_memory", {"store": p["store"], "entries": entries}, key="mem")
                        await send(aid, "restore_memory", {"store": p["store"], "entries": entries}, key="mem")
                    elif kind == "message" and (p.get("delegation") or {}).get("tool") == "payments.transfer":
                        await send(aid, "quarantine", key="coord")
    finally:
        await consumer.stop()
        await producer.stop()


async def test_fleet_reports_containment(broker: EmbeddedBroker, topics: TopicMap, tmp_path: Path) -> None:
    stop = asyncio.Event()
    responder = asyncio.create_task(_toy_responder(broker.bootstrap, topics, stop))
    await asyncio.sleep(0.5)
    fleet = Fleet(_cfg(broker, topics, tmp_path, exfil_delay_s=1.0, contain_timeout_s=3.0))
    assert set(fleet.agent_keys()) == set(fleet.agent_tools()) and len(fleet.agent_keys()) == 6
    try:
        report = await fleet.run()
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await responder
    inj, mem, coord = (report.attack(n) for n in ("injection", "memory", "coordination"))
    assert inj and mem and coord
    assert inj.exfil_blocked is True and inj.blocked_by == "quarantine"
    assert inj.time_to_contain_s is not None and 0 < inj.time_to_contain_s < 1.0
    assert mem.memory_restored is True and mem.memory_value == mem.expected_memory_value
    assert [c.command for c in mem.commands] == ["quarantine", "restore_memory"]
    assert coord.quarantined_at is not None and coord.time_to_contain_s is not None
    assert report.benign_touched == []
    for aid in ("scheduler", "finance-ops", "report-writer"):
        assert report.agents[aid].commands == [] and not report.agents[aid].quarantined
    assert report.agents["web-researcher"].quarantined and report.agents["web-researcher"].blocked_actions >= 0
    assert report.agents["crm-assistant"].memory[MEMORY_KEY] == mem.expected_memory_value
