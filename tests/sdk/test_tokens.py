"""Token and authorize client, against an httpx mock transport."""

from __future__ import annotations

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from soar.identity.credentials import TokenRequest
from soar.sdk import AgentQuarantined, SdkError, SoarAgent
from soar.sdk.tokens import token_request_body
from soar.telemetry.control import ControlCommand, command_id_for
from soar.telemetry.signing import canonical_bytes, verify_bytes
from soar.topics import TopicMap

TOPICS = TopicMap("tel", "find", "ctl", "dlq")


def _handler(seen: list[dict[str, object]]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        body = orjson.loads(request.content)
        seen.append(body)
        if request.url.path == "/v1/tokens":
            return httpx.Response(
                201, json={"token": "jwt-1", "credential_id": "cred-1", "expires_at": "2030-01-01T00:00:00Z"}
            )
        if body["tool"] == "http.post":
            return httpx.Response(200, json={"allow": False, "reason": "tool_out_of_scope"})
        return httpx.Response(200, json={"allow": True, "reason": "ok", "credential_id": "cred-1"})

    return httpx.MockTransport(handle)


async def test_request_token_signs_and_keeps_the_grant() -> None:
    seen: list[dict[str, object]] = []
    key = Ed25519PrivateKey.generate()
    http = httpx.AsyncClient(transport=_handler(seen))
    agent = SoarAgent("crm-assistant", key, "unused:9092", TOPICS, api_url="http://soar.test/", http_client=http)
    with agent.task("task-9"):
        token = await agent.request_token(["crm.*", {"tool": "email.send", "resources": ["*"], "actions": ["send"]}])
    assert token == "jwt-1" and agent.tokens == {"cred-1": "jwt-1"}
    req = seen[0]
    TokenRequest.model_validate(req)
    assert req["task_id"] == "task-9" and req["kid"] == agent.kid
    assert verify_bytes(canonical_bytes(req), str(req["sig"]), key.public_key())

    allowed = await agent.authorize(token, "crm.lookup", "crm://accounts/ACME-001", "read")
    denied = await agent.authorize(token, "http.post", "https://exfil.example.net/collect", "post")
    assert allowed.allow and allowed.model_extra == {"credential_id": "cred-1"}
    assert not denied.allow and denied.reason == "tool_out_of_scope"

    await agent.apply_command(
        ControlCommand(command_id=command_id_for("q"), agent_id="crm-assistant", command="quarantine")
    )
    with pytest.raises(AgentQuarantined):
        await agent.request_token(["crm.*"])
    await http.aclose()


async def test_token_request_without_api_url_fails() -> None:
    agent = SoarAgent("x", Ed25519PrivateKey.generate(), "unused:9092", TOPICS)
    with pytest.raises(SdkError, match="api_url"):
        await agent.request_token(["search"])
    body = token_request_body(agent.private_key, agent.kid, "x", "t", ["search"])
    assert body["scopes"] == [{"tool": "search", "resources": ["*"], "actions": ["*"]}]
