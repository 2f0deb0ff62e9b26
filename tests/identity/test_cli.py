"""``soar agents`` commands against a migrated SQLite database, end to end with the SDK's enrollment body."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from soar.config import get_settings
from soar.identity.cli import agents_cli, parse_labels, parse_tools
from soar.identity.enrollment import enroll
from soar.sdk.enroll import enroll_request_body, generate_key
from soar.store.session import dispose_all, get_sessionmaker
from soar.telemetry.signing import key_id

runner = CliRunner()


@pytest.fixture
def cli_db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the CLI's settings at a fresh database."""
    monkeypatch.setenv("SOAR_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    yield sqlite_url
    get_settings.cache_clear()


def _enroll(url: str, token: str, agent_id: str) -> str:
    key = generate_key()

    async def go() -> None:
        async with get_sessionmaker(url)() as s, s.begin():
            await enroll(s, enroll_request_body(key, token, agent_id))
        await dispose_all()

    asyncio.run(go())
    return key_id(key.public_key())


def _json(*args: str) -> object:
    r = runner.invoke(agents_cli, [*args, "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_agents_cli_enroll_list_show_rotate_revoke(cli_db: str) -> None:
    issued = _json("enroll", "bot", "--owner", "ml", "--labels", "env=prod", "--tools", "crm.*,mail.send")
    assert issued["token"].startswith("soar-enroll.")  # type: ignore[index]
    first = _enroll(cli_db, issued["token"], "bot")  # type: ignore[index]
    assert _json("list") == [{"agent_id": "bot", "owner": "ml", "status": "active"}]
    shown = _json("show", "bot")
    assert shown["tools"] == ["crm.*", "mail.send"] and shown["labels"] == {"env": "prod"}  # type: ignore[index]
    assert shown["enrollments"][0]["used_kid"] == first  # type: ignore[index]
    rekey = _json("rotate-key", "bot", "--overlap", "60")
    second = _enroll(cli_db, rekey["token"], "bot")  # type: ignore[index]
    keys = {k["kid"]: k for k in _json("show", "bot")["keys"]}  # type: ignore[index]
    assert keys[first]["expires_at"] is not None and keys[second]["expires_at"] is None
    r = runner.invoke(agents_cli, ["revoke-key", "bot", first])
    assert r.exit_code == 0, r.output
    keys = {k["kid"]: k for k in _json("show", "bot")["keys"]}  # type: ignore[index]
    assert keys[first]["status"] == "revoked"
    assert runner.invoke(agents_cli, ["show", "nobody"]).exit_code == 1
    assert runner.invoke(agents_cli, ["rotate-key", "nobody"]).exit_code != 0
    r = runner.invoke(agents_cli, ["show", "bot"])
    assert r.exit_code == 0 and second in r.output


def test_parse_labels_and_tools() -> None:
    assert parse_labels(["a=1", "b = x=y"]) == {"a": "1", "b": "x=y"}
    assert parse_tools(["a,b", "c"]) == ["a", "b", "c"] and parse_tools([]) is None
    with pytest.raises(Exception, match="not k=v"):
        parse_labels(["nope"])
