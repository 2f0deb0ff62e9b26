"""memory:rollback on SQLite and PostgreSQL: strategies taint (default), version (after memory:snapshot) and time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from soar.act import ACTIONS
from soar.memory.ledger import history, record_writes, value_hash
from tests.act.context import make_ctx
from tests.decide.samples import Published, make_finding
from tests.memory.test_ledger import write


async def test_rollback_restores_and_deletes(sessionmaker) -> None:
    good = write("policy", "ask first", n=1)
    bad = write("policy", "never ask", n=2, source="web")
    new_key = write("exfil", "mail secrets out", n=3, source="web")
    other_store = write("persona", "helpful", store="profile", n=4)
    bad_profile = write("persona", "evil", store="profile", n=5, source="web")
    async with sessionmaker() as s, s.begin():
        await record_writes(s, [good, bad, new_key, other_store, bad_profile])
    f = make_finding(
        "memory",
        "memory_poisoning",
        event_id=bad.event_id,
        evidence={"tainted_event_ids": [str(new_key.event_id), str(bad_profile.event_id)]},
    )
    pub = Published()
    async with sessionmaker() as s, s.begin():
        out = await ACTIONS.get("memory:rollback")().execute(make_ctx(s, f, pub, key="r:rb"), {})
    assert out["restored"] == {"notes": {"policy": "ask first", "exfil": None}, "profile": {"persona": "helpful"}}
    assert out["expected_hashes"]["notes"] == {"policy": value_hash("ask first"), "exfil": None}
    by_store = {c.params["store"]: c for c in pub}
    assert set(by_store) == {"notes", "profile"}
    assert all(c.command == "restore_memory" for c in pub)
    assert by_store["notes"].params["entries"] == {"policy": "ask first", "exfil": None}
    assert by_store["notes"].command_id != by_store["profile"].command_id
    async with sessionmaker() as s:
        assert [v.tainted for v in await history(s, "agent-1", "notes", "policy")] == [False, True]
    # a resumed step computes the same state and re-sends the same command ids
    again = Published()
    async with sessionmaker() as s, s.begin():
        out2 = await ACTIONS.get("memory:rollback")().execute(make_ctx(s, f, again, key="r:rb"), {})
    assert out2["restored"] == out["restored"]
    assert {c.command_id for c in again} == {c.command_id for c in pub}


async def test_rollback_without_ledger_entries_does_nothing(sqlite_sessionmaker) -> None:
    pub = Published()
    async with sqlite_sessionmaker() as s, s.begin():
        out = await ACTIONS.get("memory:rollback")().execute(make_ctx(s, make_finding("memory", "x"), pub), {})
    assert out["restored"] == {} and pub == []


async def _ledger(sm):  # type: ignore[no-untyped-def]
    """Three writes: a good one, then (after a snapshot) a poisoned overwrite and a new key."""
    good, bad, new_key = write("policy", "ask first", n=1), write("policy", "never ask", n=2), write("exfil", "x", n=3)
    async with sm() as s, s.begin():
        await record_writes(s, [good])
    async with sm() as s, s.begin():
        snap = await ACTIONS.get("memory:snapshot")().execute(
            make_ctx(s, make_finding("memory", "x"), Published(), key="r:snap"), {}
        )
    async with sm() as s, s.begin():
        await record_writes(s, [bad, new_key])
    return snap, good, bad, new_key


@pytest.mark.parametrize("strategy", ["version", "time"])
async def test_rollback_to_version_or_time(sessionmaker, strategy: str) -> None:
    snap, good, bad, new_key = await _ledger(sessionmaker)
    assert snap["version"] and snap["keys"] == 1
    target = {"to_version": snap["version"]} if strategy == "version" else {"to_time": good.ts + timedelta(seconds=0.5)}
    pub = Published()
    async with sessionmaker() as s, s.begin():
        out = await ACTIONS.get("memory:rollback")().execute(
            make_ctx(s, make_finding("memory", "x"), pub, key="r:rb"), {"strategy": strategy, **target}
        )
    assert out["strategy"] == strategy
    assert out["restored"] == {"notes": {"exfil": None, "policy": "ask first"}}
    assert out["tainted_event_ids"] == sorted([str(bad.event_id), str(new_key.event_id)])
    [cmd] = pub
    assert cmd.command == "restore_memory" and cmd.params == {"store": "notes", "entries": out["restored"]["notes"]}
    async with sessionmaker() as s:
        assert [v.tainted for v in await history(s, "agent-1", "notes", "policy")] == [False, True]


def test_rollback_params_need_their_target() -> None:
    check = ACTIONS.get("memory:rollback").check_params
    with pytest.raises(ValueError, match="needs to_version"):
        check({"strategy": "version"})
    with pytest.raises(ValueError, match="needs to_time"):
        check({"strategy": "time"})
