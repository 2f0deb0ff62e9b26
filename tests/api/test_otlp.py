"""``POST /v1/otlp/v1/traces``: OTLP/JSON spans from an enrolled agent's ingest token, produced as telemetry."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from soar.api.app import create_app
from soar.broker import EmbeddedBroker
from soar.config import Settings, Tier
from soar.demo.services import Services
from soar.sdk import SoarAgent
from soar.topics import TopicMap
from tests.api.conftest import ADMIN, client_for
from tests.helpers import service_settings
from tests.otel.test_otel import otlp_doc
from tests.sdk.support import read_topic

INGEST = {"tool": "soar.otlp", "resources": ["traces"], "actions": ["export"]}
OP = {"Authorization": f"Bearer {ADMIN}"}
PATH = "/v1/otlp/v1/traces"


async def _agent_with_token(client: httpx.AsyncClient, agent_id: str, scopes: list) -> tuple[SoarAgent, str]:
    agent = SoarAgent(agent_id, Ed25519PrivateKey.generate(), "127.0.0.1:1", TopicMap("t", "f", "c", "d"),
                      api_url="http://soar.test", http_client=client)  # fmt: skip
    r = await client.post(
        "/v1/agents",
        json={"agent_id": agent_id, "public_key": agent.public_key_b64, "tools": ["soar.otlp", "browser.*"]},
        headers=OP,
    )
    assert r.status_code == 201, r.text
    return agent, await agent.request_token(scopes)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_otlp_ingest_refuses_without_a_valid_ingest_token(tmp_path: Path, sqlite_url: str) -> None:
    app = create_app(Settings(data_dir=tmp_path / "d", admin_token=ADMIN), sqlite_url)
    async with client_for(app) as c:
        assert (await c.post(PATH, json=otlp_doc())).status_code == 401
        assert (await c.post(PATH, json=otlp_doc(), headers=_bearer("not-a-jwt"))).json()["reason"] == "malformed"
        _, tool_token = await _agent_with_token(c, "otlp-a", ["browser.fetch"])
        r = await c.post(PATH, json=otlp_doc(), headers=_bearer(tool_token))
        assert r.status_code == 403 and r.json()["reason"] == "tool_out_of_scope"  # a tool token is not an ingest token
        _, token = await _agent_with_token(c, "otlp-b", [INGEST])
        assert (await c.post(PATH, content=b"{nope", headers=_bearer(token))).json()["reason"] == "invalid_json"
        r = await c.post(
            PATH, content=b"\x0a\x00", headers={**_bearer(token), "content-type": "application/x-protobuf"}
        )
        assert r.status_code == 415
        assert (await c.post(PATH, json=[1], headers=_bearer(token))).status_code == 400
        r = await c.post("/v1/agents/otlp-b/quarantine", json={"reason": "test"}, headers=OP)
        assert r.status_code == 200, r.text
        r = await c.post(PATH, json=otlp_doc(), headers=_bearer(token))
        assert r.status_code == 403 and r.json()["reason"] == "agent_quarantined"  # never cached


async def test_otlp_ingest_is_foundation_only(tmp_path: Path, sqlite_url: str) -> None:
    app = create_app(Settings(data_dir=tmp_path / "d", admin_token=ADMIN, tier=Tier.ADVANCED), sqlite_url)
    async with client_for(app) as c:
        _, token = await _agent_with_token(c, "otlp-c", [INGEST])
        r = await c.post(PATH, json=otlp_doc(), headers=_bearer(token))
        assert r.status_code == 403 and r.json()["reason"] == "signed_events_required"


@pytest.mark.integration
async def test_otlp_post_to_the_api_process_reaches_the_worker_and_makes_a_finding(
    sqlite_url: str, broker: EmbeddedBroker, topics: TopicMap, tmp_path: Path
) -> None:
    s = service_settings(tmp_path / "data", sqlite_url, broker.bootstrap, topics, "otlp")
    svc = Services(s, log_dir=tmp_path / "logs", embedded_broker=False)
    await svc.start()
    try:
        async with httpx.AsyncClient(base_url=svc.api_url) as c:
            agent = SoarAgent("web-researcher", Ed25519PrivateKey.generate(), broker.bootstrap, topics,
                              api_url=svc.api_url, http_client=c)  # fmt: skip
            r = await c.post(
                "/v1/agents",
                json={"agent_id": "web-researcher", "public_key": agent.public_key_b64, "tools": ["soar.otlp"]},
                headers={"Authorization": f"Bearer {svc.admin_token}"},
            )
            assert r.status_code == 201, r.text
            token = await agent.request_token([INGEST], task_id="research-7")
            doc = otlp_doc()
            # a span claiming to be another agent is refused; the rest of the export goes through
            doc["resourceSpans"][0]["scopeSpans"][0]["spans"][3]["attributes"].append(
                {"key": "gen_ai.agent.id", "value": {"stringValue": "payments-bot"}}
            )
            r = await c.post(PATH, json=doc, headers=_bearer(token))
            assert r.status_code == 200, r.text
            assert r.json()["partialSuccess"]["rejectedSpans"] == "1"
        findings = await read_topic(broker.bootstrap, topics.findings, min_count=2, wait_s=60)
        rules = {(f["detector"], f["rule"]) for _, f in findings if f["agent_id"] == "web-researcher"}
        assert ("injection", "indirect_prompt_injection") in rules, rules
        assert ("identity", "unsigned_event") in rules  # Foundation: accepted, with the tier's finding
        injection = next(f for _, f in findings if f["rule"] == "indirect_prompt_injection")
        assert injection["task_id"] == "research-7"
        telemetry = await read_topic(broker.bootstrap, topics.telemetry, min_count=6)
        assert {o["agent_id"] for _, o in telemetry} == {"web-researcher"} and len(telemetry) == 6
    finally:
        svc.stop()
