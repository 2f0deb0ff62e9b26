"""control:publish through the real embedded broker: recorded, audited, one command id per step."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import select

from soar.act import ACTIONS
from soar.broker import EmbeddedBroker
from soar.store.models import AgentRecord, AuditRecord, ControlCommandRecord
from soar.telemetry.control import ControlCommand, command_id_for
from soar.topics import TopicMap
from tests.act.context import make_ctx
from tests.decide.samples import make_finding
from tests.sdk.support import read_topic

pytestmark = pytest.mark.integration


async def test_publish_reaches_the_control_topic_once_per_step(
    broker: EmbeddedBroker, topics: TopicMap, sessionmaker
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    await producer.start()

    async def publish(cmd: ControlCommand) -> None:  # what the worker does (soar/fastpath.py)
        await producer.send_and_wait(topics.control, cmd.model_dump_json().encode(), key=cmd.agent_id.encode())

    params = {"command": "restore_memory", "params": {"store": "notes", "entries": {"policy": "ask first"}}}
    try:
        for _ in range(2):  # the second time is a resumed step: same key
            async with sessionmaker() as s, s.begin():
                out = await ACTIONS.get("control:publish")().execute(
                    make_ctx(s, make_finding(summary="poisoned"), publish, key="run-1:restore"),  # type: ignore[arg-type]
                    params,
                )
    finally:
        await producer.stop()
    assert out == {
        "agent_id": "agent-1",
        "command": "restore_memory",
        "command_id": str(command_id_for("run-1:restore")),
    }
    records = await read_topic(broker.bootstrap, topics.control, min_count=2)
    assert [key for key, _ in records] == [b"agent-1", b"agent-1"]
    assert {v["command_id"] for _, v in records} == {out["command_id"]}  # the agent drops the repeat
    value = records[0][1]
    assert (
        value["command"] == "restore_memory" and value["params"] == params["params"] and value["reason"] == "poisoned"
    )
    async with sessionmaker() as s:
        [rec] = (await s.execute(select(ControlCommandRecord))).scalars()
        audits = list((await s.execute(select(AuditRecord.action))).scalars())
        assert await s.get(AgentRecord, "agent-1") is None  # soar's registry is not changed
    assert rec.command == "restore_memory" and rec.run_id == "run-1" and audits.count("control.restore_memory") == 1


def test_publish_rejects_unknown_command() -> None:
    with pytest.raises(ValueError, match="command"):
        ACTIONS.get("control:publish").check_params({"command": "self_destruct"})
