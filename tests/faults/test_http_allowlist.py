"""``http:request`` refuses every host off its allow-list, whatever the URL trick: user info, IP literal forms,
look-alike and IDN hosts, other ports, other schemes, and redirects from an allowed host to another one."""

from __future__ import annotations

import os
import string
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from soar.act.http.request import ALLOWED_HOSTS_ENV, HttpRequestAction, host_allowed
from soar.errors import ActionCheckFailed, ActionError
from tests.act.context import make_ctx
from tests.decide.samples import Published, make_finding
from tests.notify.receiver import Receiver

ALLOWED = {"idp.example.com", "127.0.0.1:{port}"}

HOSTILE = [
    "http://idp.example.com@evil.example/",
    "http://idp.example.com:443@evil.example/",
    "http://idp.example.com%40evil.example/",
    "http://idp.example.com\\@evil.example/",
    "http://evil.example#@idp.example.com/",
    "http://evil.example?@idp.example.com/",
    "http://evil.example/idp.example.com",
    "http://idp.example.com.evil.example/",
    "http://evil-idp.example.com/",
    "http://idp.example.com./",
    "http://іdp.example.com/",  # Cyrillic і
    "http://xn--dp-gmc.example.com/",
    "http://idp。example。com/",  # ideographic full stops
    "http://127.0.0.1/",
    "http://127.0.0.1:1/",
    "http://2130706433:{port}/",
    "http://0x7f.0.0.1:{port}/",
    "http://0177.0.0.1:{port}/",
    "http://127.1:{port}/",
    "http://[::1]:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://localhost:{port}/",
    "http://evil.example:99999/",
    "http://evil.example:-1/",
    "http://idp.example.com::1/",
    "http://idp.example.com\t/",
    "http://idp.example.com:99999/",
    "file:///etc/passwd",
    "gopher://idp.example.com/",
    "ftp://idp.example.com/",
    "http:///idp.example.com",
    "http:idp.example.com",
    "//idp.example.com/",
    "idp.example.com",
    "http://idp.example.com\x00.evil.example/",
    "http://evil.example\t.idp.example.com/",
    "http://evil.example/\r\nHost: idp.example.com",
    "",
]


@pytest.fixture
async def allowed_receiver(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Receiver]:
    """A real receiver on 127.0.0.1 whose host:port is the only allowed loopback entry."""
    r = await Receiver().start()
    monkeypatch.setenv(ALLOWED_HOSTS_ENV, ",".join(h.format(port=r.port) for h in ALLOWED))
    yield r
    await r.stop()


@pytest.mark.parametrize("url", HOSTILE)
async def test_http_request_refuses_hosts_off_the_allow_list(
    url: str, allowed_receiver: Receiver, sqlite_sessionmaker
) -> None:
    url = url.replace("{port}", str(allowed_receiver.port))
    action = HttpRequestAction()
    async with sqlite_sessionmaker() as s:
        ctx = make_ctx(s, make_finding(), Published())
        with pytest.raises(ActionCheckFailed, match="not in SOAR_HTTP_ALLOWED_HOSTS"):
            await action.execute(ctx, {"url": url, "body": {"x": 1}})
    assert allowed_receiver.requests == []  # refused before any connection


async def test_http_request_allow_list_is_case_insensitive_and_exact(allowed_receiver: Receiver) -> None:
    allowed = {h.format(port=allowed_receiver.port) for h in ALLOWED}
    assert host_allowed("https://IDP.Example.COM/api", allowed)
    assert host_allowed(f"http://127.0.0.1:{allowed_receiver.port}/x", allowed)
    assert not host_allowed(f"http://127.0.0.1:{allowed_receiver.port + 1}/x", allowed)


async def test_http_request_does_not_follow_a_redirect_off_the_list(
    allowed_receiver: Receiver, sqlite_sessionmaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An allowed host answering 302 to an off-list host fails the step; the other host hears nothing."""
    off_list = await Receiver().start()

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{off_list.url}/steal")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", redirect)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        monkeypatch.setenv(ALLOWED_HOSTS_ENV, f"{os.environ[ALLOWED_HOSTS_ENV]},127.0.0.1:{port}")
        async with sqlite_sessionmaker() as s, s.begin():
            ctx = make_ctx(s, make_finding(), Published())
            with pytest.raises(ActionError, match="HTTP 302"):
                await HttpRequestAction().execute(ctx, {"url": f"http://127.0.0.1:{port}/api", "body": {"x": 1}})
        assert off_list.requests == []
    finally:
        await runner.cleanup()
        await off_list.stop()


pieces = st.sampled_from(
    [
        "http://", "https://", "idp.example.com", "evil.example", "@", ":", "443", "/", "\\", "#", "?", "%40",
        "%2f", ".", "[", "]", "::1", "127.0.0.1", "\t", "\n", " ", "xn--", "IDP", "..", "%00",
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(pieces, min_size=1, max_size=8).map("".join), st.text(string.printable, max_size=5))
def test_fuzz_an_accepted_url_connects_only_to_an_allowed_host(url: str, tail: str) -> None:
    """Differential check: whenever our parser accepts a URL, httpx (which makes the connection) sees the same
    host and no user info."""
    allowed = {"idp.example.com", "idp.example.com:443"}
    url = url + tail
    try:
        ok = host_allowed(url, allowed)
    except ValueError:
        ok = False
    if not ok:
        return
    parsed = httpx.URL(url)
    assert parsed.host.lower() == "idp.example.com"
    assert not parsed.userinfo
