"""http:request: allow-listed hosts only, HMAC-signed body checked by a real local HTTP server, clear refusals."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from soar.act import ACTIONS
from soar.act.http.request import host_allowed
from soar.errors import ActionCheckFailed, ActionError
from soar.store.models import AuditRecord
from tests.act.context import make_ctx
from tests.decide.samples import Published, make_finding
from tests.notify.receiver import SECRET, Receiver


@pytest.fixture
def allow(monkeypatch: pytest.MonkeyPatch, receiver: Receiver) -> Receiver:
    """The receiver's host:port is on the allow-list; bodies are signed with the test secret."""
    monkeypatch.setenv("SOAR_HTTP_ALLOWED_HOSTS", f"idp.example.com, 127.0.0.1:{receiver.port}")
    monkeypatch.setenv("SOAR_HTTP_SECRET", SECRET)
    return receiver


async def _call(sm, params: dict, key: str = "run-1:disable") -> dict:  # type: ignore[no-untyped-def]
    async with sm() as s, s.begin():
        return await ACTIONS.get("http:request")().execute(make_ctx(s, make_finding(), Published(), key=key), params)


async def test_signed_request_to_allowed_host(allow: Receiver, sessionmaker) -> None:
    url = f"{allow.url}/api/disable"
    out = await _call(sessionmaker, {"url": url, "body": {"principal": "agent-1", "n": 1}, "headers": {"X-T": "1"}})
    assert out == {"url": url, "status_code": 200, "response": {"ok": True}}
    [req] = allow.requests
    assert req.path == "/api/disable" and req.body == {"n": 1, "principal": "agent-1"}
    assert req.signature_ok(SECRET)  # recomputed by the receiver, independently of soar's code
    assert not req.signature_ok("another-secret")
    assert req.headers["Idempotency-Key"] == "run-1:disable" and req.headers["X-T"] == "1"
    async with sessionmaker() as s:
        [entry] = (await s.execute(select(AuditRecord).where(AuditRecord.action == "http.request"))).scalars()
    assert entry.target == f"url:{url}" and entry.data["status"] == 200


async def test_off_list_host_refused_before_connecting(allow: Receiver, sqlite_sessionmaker) -> None:
    for url in (
        "http://localhost:1/x",  # not listed (loopback under another name)
        f"http://127.0.0.1:{allow.port + 1}/x",  # listed host, other port
        f"http://user@127.0.0.1:{allow.port}/x",  # user info
        "ftp://idp.example.com/x",  # scheme
    ):
        with pytest.raises(ActionCheckFailed, match="not in SOAR_HTTP_ALLOWED_HOSTS"):
            await _call(sqlite_sessionmaker, {"url": url})
    assert allow.requests == []


async def test_error_answer_fails_the_step(allow: Receiver, sqlite_sessionmaker) -> None:
    allow.fail_next, allow.fail_status = 1, 500
    with pytest.raises(ActionError, match="HTTP 500"):
        await _call(sqlite_sessionmaker, {"url": f"{allow.url}/x"})


def test_host_allowed_rules() -> None:
    allowed = {"idp.example.com", "127.0.0.1:8080"}
    assert host_allowed("https://IDP.example.com/a", allowed)
    assert host_allowed("http://127.0.0.1:8080/a", allowed) and not host_allowed("http://127.0.0.1/a", allowed)
    assert not host_allowed("https://idp.example.com.evil.test/a", allowed)
