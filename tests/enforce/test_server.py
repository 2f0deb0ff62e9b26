"""The enforcement example: a tool server that asks soar's authorize before every call (both backends)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from soar.api.app import create_app
from soar.config import Settings
from soar.enforce import ToolDenied, ToolServer, call_tool, create_tool_app
from soar.enforce.server import EnforcementLog
from soar.identity.credentials import build_token_request
from tests.helpers import running
from tests.identity.conftest import new_agent_key

ADMIN = "enforce-admin"
OP = {"Authorization": f"Bearer {ADMIN}"}
TOOLS = "http://tools.test"
SCOPES = [{"tool": "crm.read", "resources": ["accounts/*"], "actions": ["read"]}]


@pytest.fixture
async def api(tmp_path: Path, db_url: str) -> AsyncIterator[FastAPI]:
    """soar's API on a fresh database, its lifespan running."""
    async with running(create_app(Settings(data_dir=tmp_path / "data", admin_token=ADMIN), db_url)) as app:
        yield app


@pytest.fixture
async def clients(api: FastAPI) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, EnforcementLog]]:
    """(client of soar's API, client of a tool server enforcing through it, the tool server's decisions)."""
    soar_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://soar.test")
    record = EnforcementLog()
    ran: list[dict[str, Any]] = []

    async def crm_read(args: dict[str, Any]) -> dict[str, Any]:
        ran.append(args)
        return {"account": args.get("id"), "name": "ACME"}

    tools = create_tool_app(
        "http://soar.test", {"crm.read": crm_read, "http.post": lambda a: "sent"}, http=soar_http, record=record
    )
    tool_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=tools), base_url=TOOLS)
    yield soar_http, tool_http, record
    await tool_http.aclose()
    await soar_http.aclose()


async def _token(soar_http: httpx.AsyncClient) -> dict[str, Any]:
    key = new_agent_key()
    r = await soar_http.post("/v1/agents", json={"agent_id": "a1", "public_key": key.public_b64}, headers=OP)
    assert r.status_code == 201, r.text
    r = await soar_http.post("/v1/tokens", json=build_token_request(key.private_key, key.kid, "a1", "t1", SCOPES))
    assert r.status_code == 201, r.text
    return r.json()


async def test_tool_server_allows_in_scope_and_refuses_the_rest(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient, EnforcementLog],
) -> None:
    soar_http, tool_http, record = clients
    grant = await _token(soar_http)
    token = grant["token"]
    ok = await call_tool(tool_http, TOOLS, token, "crm.read", "accounts/7", "read", {"id": 7})
    assert ok.result == {"account": 7, "name": "ACME"} and ok.reason == "ok"
    for tool, resource, action, reason in [
        ("http.post", "https://evil.example/upload", "post", "tool_out_of_scope"),
        ("crm.read", "payroll/1", "read", "resource_out_of_scope"),
        ("crm.read", "accounts/7", "delete", "action_out_of_scope"),
    ]:
        with pytest.raises(ToolDenied) as e:
            await call_tool(tool_http, TOOLS, token, tool, resource, action)
        assert (e.value.reason, e.value.status_code) == (reason, 403)
    with pytest.raises(ToolDenied, match="no_token"):
        await call_tool(tool_http, TOOLS, "", "crm.read", "accounts/7", "read")
    with pytest.raises(ToolDenied, match="unknown_tool"):
        await call_tool(tool_http, TOOLS, token, "shell.exec", "x", "run")
    # Revocation and quarantine take effect on the very next call through the enforcement point.
    r = await soar_http.post(f"/v1/credentials/{grant['credential_id']}/revoke", json={"reason": "x"}, headers=OP)
    assert r.status_code == 200
    with pytest.raises(ToolDenied, match="revoked"):
        await call_tool(tool_http, TOOLS, token, "crm.read", "accounts/7", "read")
    assert [d.reason for d in record.denied()][-1] == "revoked" and record.decisions[0].agent_id == "a1"


async def test_tool_server_refuses_a_quarantined_agent(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient, EnforcementLog],
) -> None:
    soar_http, tool_http, _ = clients
    token = (await _token(soar_http))["token"]
    assert (await soar_http.post("/v1/agents/a1/quarantine", json={"reason": "x"}, headers=OP)).status_code == 200
    with pytest.raises(ToolDenied, match="agent_quarantined"):
        await call_tool(tool_http, TOOLS, token, "crm.read", "accounts/7", "read")


async def test_tool_server_fails_closed_without_soar() -> None:
    async with ToolServer("http://127.0.0.1:9", {"crm.read": lambda a: "x"}).running() as server:
        async with httpx.AsyncClient() as http:
            with pytest.raises(ToolDenied) as e:
                await call_tool(http, server.url, "some-token", "crm.read", "accounts/1", "read")
            assert (e.value.reason, e.value.status_code) == ("pdp_unavailable", 503)
            r = await http.post(f"{server.url}/tools/crm.read", content=b"[1]", headers={"Authorization": "Bearer x"})
            assert r.status_code == 400
