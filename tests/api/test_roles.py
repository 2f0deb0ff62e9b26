"""Every operator route goes through ``require_operator``: no token -> 401, viewer writes -> 403, roles as documented.

The routes are enumerated from the app, so a new route is covered (or must be added to ``PUBLIC``) automatically.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from soar.api.app import create_app
from soar.api.auth import RESPOND_ROUTES, add_operator, allows, load_operators, permission_for
from soar.config import Settings

#: routes agents and enforcement points call without an operator token (they authenticate otherwise)
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("POST", "/v1/tokens"),
    ("POST", "/v1/authorize"),
    ("GET", "/v1/.well-known/jwks.json"),
    ("POST", "/v1/enroll"),
    ("POST", "/v1/otlp/v1/traces"),  # an agent's ingest token (scope soar.otlp/traces/export), checked by the PDP
}


def _routes(app: FastAPI) -> list[tuple[str, str, dict]]:
    """Every operation of the app (from its OpenAPI document: the public, complete list of routes)."""
    return [(m.upper(), path, op) for path, ops in app.openapi()["paths"].items() for m, op in ops.items()]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


@pytest.fixture
def roles_app(tmp_path: Path, sqlite_url: str) -> tuple[FastAPI, dict[str, str]]:
    """An app with an operators file: one viewer, one on-call responder (plus the admin token)."""
    ops = tmp_path / "operators.yaml"
    tokens = {"viewer": add_operator(ops, "vic", ["viewer"]), "oncall": add_operator(ops, "olga", ["oncall"])}
    app = create_app(Settings(data_dir=tmp_path / "data", admin_token="adm-token", operators_file=ops), sqlite_url)
    return app, {**tokens, "admin": "adm-token"}


def test_every_operator_route_depends_on_require_operator(roles_app) -> None:
    app, _ = roles_app
    routes = _routes(app)
    assert len(routes) > 15
    # the operator bearer scheme is declared by require_operator only
    unguarded = {(m, p) for m, p, op in routes if {"HTTPBearer": []} not in op.get("security", [])}
    assert unguarded == PUBLIC  # a new route must use the dependency, or be listed here deliberately


async def test_no_token_and_bad_token_refused_everywhere(roles_app) -> None:
    app, _ = roles_app
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://soar.test") as c:
        for method, path, _r in _routes(app):
            if (method, path) in PUBLIC:
                continue
            for headers in ({}, {"Authorization": "Bearer wrong"}):
                resp = await c.request(method, _concrete(path), headers=headers, json={})
                assert resp.status_code == 401, (method, path, headers, resp.text)


async def test_viewer_reads_but_cannot_change_anything(roles_app) -> None:
    app, tokens = roles_app
    auth = {"Authorization": f"Bearer {tokens['viewer']}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://soar.test") as c:
        for method, path, _r in _routes(app):
            if (method, path) in PUBLIC:
                continue
            resp = await c.request(method, _concrete(path), headers=auth, json={})
            if method == "GET":
                assert resp.status_code not in (401, 403), (method, path, resp.text)
            else:
                assert resp.status_code == 403, (method, path, resp.text)
        assert (await c.get("/v1/runs", headers=auth)).status_code == 200


async def test_responder_decides_but_does_not_manage(roles_app) -> None:
    app, tokens = roles_app
    auth = {"Authorization": f"Bearer {tokens['oncall']}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://soar.test") as c:
        for method, path, _r in _routes(app):
            if (method, path) in PUBLIC or method == "GET":
                continue
            resp = await c.request(method, _concrete(path), headers=auth, json={})
            if (method, path) in RESPOND_ROUTES:
                assert resp.status_code in (404, 422), (method, path, resp.text)  # allowed past auth; nothing there
            else:
                assert resp.status_code == 403, (method, path, resp.text)
        admin = {"Authorization": f"Bearer {tokens['admin']}"}
        created = await c.post("/v1/agents/a1/enrollments", headers=admin, json={"owner": "t"})
        assert created.status_code == 201, created.text


def test_role_table() -> None:
    assert permission_for("GET", "/v1/agents") == "read"
    assert permission_for("POST", "/v1/runs/{run_id}/steps/{step_id}/approve") == "respond"
    assert permission_for("POST", "/v1/agents/{agent_id}/release") == "manage"
    assert allows({"viewer"}, "read") and not allows({"viewer"}, "respond")
    assert allows({"oncall"}, "respond") and not allows({"oncall"}, "manage")
    assert allows({"admin"}, "manage") and not allows(set(), "read")


def test_operators_file_holds_no_token_and_bad_file_is_an_error(tmp_path: Path) -> None:
    ops = tmp_path / "operators.yaml"
    token = add_operator(ops, "alice", ["oncall"])
    assert token not in ops.read_text()
    again = add_operator(ops, "alice", ["oncall", "responder"])  # re-keyed: the old token stops working
    [op] = load_operators(ops).values()
    assert op.name == "alice" and op.roles == {"oncall", "responder"} and again != token
    ops.write_text("operators: [{name: bob, roles: [viewer], token: plain}]\n")
    with pytest.raises(ValueError, match="bad operators file"):
        load_operators(ops)
