"""Verify: signatures, keys and containment state become identity findings."""

from datetime import timedelta

from soar.config import Tier
from soar.detect.base import AgentProfile
from soar.ingest.decoders import RawRecord, decode
from soar.telemetry.events import utcnow
from soar.verify.checks import KeyDirectory, verify
from tests.helpers import TestAgent

A = TestAgent("agent-a")
B = TestAgent("agent-b")
PAYLOAD = {"source": "user", "content": "hello"}


def _dir() -> KeyDirectory:
    d = KeyDirectory()
    for ag in (A, B):
        d.add_key(ag.kid, ag.agent_id, ag.public_b64)
        d.agents[ag.agent_id] = AgentProfile(ag.agent_id)
    return d


def _verify(raw: bytes, d: KeyDirectory | None = None, tier: Tier = Tier.FOUNDATION):
    return verify(decode(RawRecord(raw), max_bytes=65536, max_depth=32), d or _dir(), tier=tier, max_skew_s=300)


def test_verify_good_signature_passes_clean() -> None:
    v = _verify(A.raw("input", PAYLOAD))
    assert v.passed and not v.findings


def test_verify_tampered_event_is_bad_signature() -> None:
    obj = A.event("input", PAYLOAD)
    obj["payload"]["content"] = "tampered"
    import orjson

    v = _verify(orjson.dumps(obj))
    assert not v.passed and v.findings[0].rule == "bad_signature" and v.findings[0].severity.label == "critical"


def test_verify_key_of_another_agent_is_mismatch() -> None:
    v = _verify(B.raw("input", PAYLOAD, agent_id="agent-a"))
    assert not v.passed and v.findings[0].rule == "key_agent_mismatch"


def test_verify_unknown_agent() -> None:
    v = _verify(TestAgent("stranger").raw("input", PAYLOAD))
    assert not v.passed and v.findings[0].rule == "unknown_agent"


def test_verify_unsigned_by_tier() -> None:
    raw = A.raw("input", PAYLOAD, sign=False)
    found = _verify(raw, tier=Tier.FOUNDATION)
    assert found.passed and found.findings[0].rule == "unsigned_event" and found.reject_reason is None
    strict = _verify(raw, tier=Tier.ADVANCED)
    assert not strict.passed and strict.reject_reason == "unsigned"


def test_verify_quarantined_agent_activity_but_not_heartbeat() -> None:
    d = _dir()
    d.quarantined.add("agent-a")
    v = _verify(A.raw("tool_call", {"tool": "search", "call_id": "1"}), d)
    assert v.passed and [f.rule for f in v.findings] == ["activity_while_quarantined"]
    hb = _verify(A.raw("lifecycle", {"state": "heartbeat"}), d)
    assert hb.passed and not hb.findings


def test_verify_future_timestamp_is_clock_skew() -> None:
    v = _verify(A.raw("input", PAYLOAD, ts=(utcnow() + timedelta(hours=1)).isoformat()))
    assert v.passed and v.findings[0].rule == "clock_skew"


def test_verify_finding_id_is_deterministic() -> None:
    raw = TestAgent("stranger").raw("input", PAYLOAD)
    assert _verify(raw).findings[0].finding_id == _verify(raw).findings[0].finding_id


def test_verify_restore_confirmation_reads_are_not_activity() -> None:
    d = _dir()
    d.quarantined.add("agent-a")
    raw = A.raw("memory_read", {"store": "long_term", "key": "k", "value_hash": "ab" * 32}, task_id="restore:c1")
    v = _verify(raw, d)
    assert v.passed and not v.findings
