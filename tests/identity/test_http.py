"""``POST /v1/authorize`` served by the plain Starlette endpoint in front of the documented FastAPI route."""

from __future__ import annotations

from pathlib import Path

from soar.api.app import create_app
from soar.config import Settings
from tests.api.conftest import client_for


async def test_authorize_endpoint_answers_like_the_documented_route(tmp_path: Path, sqlite_url: str) -> None:
    app = create_app(Settings(data_dir=tmp_path / "d", admin_token="op"), sqlite_url)
    async with client_for(app) as c:
        r = await c.post("/v1/authorize", json={"token": "x.y.z", "tool": "t", "resource": "r", "action": "a"})
        assert r.status_code == 200 and r.json()["allow"] is False and r.json()["reason"] == "malformed"
        r = await c.post("/v1/authorize", json={"token": "", "tool": "t", "resource": "r", "action": "a", "x": 1})
        assert r.status_code == 422
        assert {tuple(e["loc"]) for e in r.json()["detail"]} == {("body", "token"), ("body", "x")}
        assert (await c.post("/v1/authorize", content=b"{oops")).status_code == 422
        assert "/v1/authorize" in app.openapi()["paths"]  # still documented by the FastAPI route
