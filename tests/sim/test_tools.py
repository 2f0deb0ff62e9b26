"""The fleet's benign tool calls go through the enforcement point: authorize on every call, refusals counted."""

from __future__ import annotations

import random
from pathlib import Path

import httpx
import pytest

from soar.api.app import create_app
from soar.broker import EmbeddedBroker
from soar.config import Settings
from soar.enforce.server import EnforcementLog, create_tool_app
from soar.sdk import SoarAgent
from soar.sim.behaviours import DEFAULT_ROSTER, Actor, tool_args, use_tool
from soar.sim.fleet import agent_key
from soar.sim.tools import sim_tools, tool_output
from soar.topics import TopicMap
from tests.api.conftest import ADMIN
from tests.sdk.support import read_topic

OP = {"Authorization": f"Bearer {ADMIN}"}


def test_tool_output_is_what_the_agent_reports_without_a_server() -> None:
    spec = next(s for s in DEFAULT_ROSTER if s.agent_id == "web-researcher")
    actor = Actor(spec, None, random.Random(1))  # type: ignore[arg-type]
    args = tool_args(actor, "browser.fetch")
    assert sim_tools()["browser.fetch"](args) == tool_output("browser.fetch", args) != "404 page not found"


@pytest.mark.integration
async def test_benign_tool_calls_are_authorized_by_the_tool_server(
    sqlite_url: str, broker: EmbeddedBroker, topics: TopicMap, tmp_path: Path
) -> None:
    soar_app = create_app(Settings(data_dir=tmp_path / "d", admin_token=ADMIN), sqlite_url)
    soar_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=soar_app), base_url="http://soar.test")
    record = EnforcementLog()
    tool_app = create_tool_app("http://soar.test", sim_tools(), http=soar_http, record=record)
    http = httpx.AsyncClient(
        mounts={
            "http://soar.test": httpx.ASGITransport(app=soar_app),
            "http://tools.test": httpx.ASGITransport(tool_app),
        }
    )
    spec = next(s for s in DEFAULT_ROSTER if s.agent_id == "crm-assistant")
    agent = SoarAgent(spec.agent_id, agent_key(7, spec.agent_id), broker.bootstrap, topics,
                      api_url="http://soar.test", http_client=http)  # fmt: skip
    body = {"agent_id": spec.agent_id, "public_key": agent.public_key_b64, "tools": list(spec.tools)}
    assert (await soar_http.post("/v1/agents", json=body, headers=OP)).status_code == 201
    try:
        async with agent:
            grant = await agent.request_grant(list(spec.tools))
            actor = Actor(spec, agent, random.Random(3), grant.credential_id, tool_server_url="http://tools.test")
            for tool in spec.tools:
                await use_tool(actor, tool)
            assert [d.tool for d in record.decisions] == list(spec.tools) and all(d.allowed for d in record.decisions)
            r = await soar_http.post(f"/v1/credentials/{grant.credential_id}/revoke", json={"reason": "t"}, headers=OP)
            assert r.status_code == 200
            await use_tool(actor, "crm.lookup")  # still held by the agent: the tool server refuses it
            assert actor.denied == 1 and record.denied()[-1].reason == "revoked"
            await agent.flush()
        events = await read_topic(broker.bootstrap, topics.telemetry, min_count=8)
        results = [o["payload"] for _, o in events if o["kind"] == "tool_result"]
        assert [p["status"] for p in results] == ["ok", "ok", "ok", "error"]
        assert results[1]["content"].startswith("Notes for ")  # the tool server's answer, as the agent reports it
    finally:
        await http.aclose()
        await soar_http.aclose()
