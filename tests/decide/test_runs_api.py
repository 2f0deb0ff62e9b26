"""``/v1/runs`` and approvals over the API (operator auth), then the responder continues the run."""

from __future__ import annotations

from pathlib import Path

import httpx

from soar.api.app import create_app
from soar.config import Settings
from soar.decide.engine import Responder
from soar.store.session import get_sessionmaker
from tests.decide.samples import Published, make_finding
from tests.decide.test_language import APPROVE, pb

TOKEN = "runs-api-token"


async def test_api_approve_and_incident_ack(sqlite_url: str, tmp_path: Path) -> None:
    sm = get_sessionmaker(sqlite_url)
    pub = Published()
    r = Responder(sm, [pb(APPROVE)], pub, timer_interval_s=None)
    [out] = await r.handle([make_finding()])
    app = create_app(Settings(data_dir=tmp_path / "data", admin_token=TOKEN), sqlite_url)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://soar.test") as c:
        assert (await c.post(f"/v1/runs/{out.run_id}/steps/quarantine/approve")).status_code == 401
        runs = (await c.get("/v1/runs", params={"status": "waiting"}, headers=auth)).json()
        assert [x["run_id"] for x in runs] == [out.run_id]
        view = (await c.get(f"/v1/runs/{out.run_id}", headers=auth)).json()
        assert view["steps"][-1]["status"] == "waiting" and view["steps"][-1]["params"]["reason"]
        resp = await c.post(f"/v1/runs/{out.run_id}/steps/quarantine/approve", json={"comment": "ok"}, headers=auth)
        assert resp.status_code == 200 and resp.json()["decided_by"] == "user:admin"
        again = await c.post(f"/v1/runs/{out.run_id}/steps/quarantine/deny", headers=auth)
        assert again.status_code == 409
        assert (await c.post("/v1/runs/nope/steps/x/approve", headers=auth)).status_code == 404
        ack = await c.post(f"/v1/incidents/{out.incident_id}/ack", headers=auth)
        assert ack.status_code == 200 and ack.json()["acknowledged_by"] == "user:admin"
        assert (await c.post(f"/v1/incidents/{out.incident_id}/ack", headers=auth)).status_code == 409
    [done] = await r.tick()
    assert done.status == "completed" and [c.command for c in pub] == ["quarantine"]
