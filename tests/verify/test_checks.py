"""Verify: signatures, keys and containment state become identity findings."""

from datetime import timedelta

from soar.config import Tier
from soar.detect.base import AgentProfile
from soar.ingest.decoders import RawRecord, decode
from soar.telemetry.events import utcnow
from soar.telemetry.findings import Finding
from soar.verify.checks import IdentityFold, KeyDirectory, verify
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


def test_a_folded_rejection_keeps_its_reason_and_its_finding_is_never_built() -> None:
    """Through a fold, the first rejection in a window is reported; the rest carry their reason and detail
    (for the dead letter) and build no finding at all."""
    fold = IdentityFold(60.0, clock=lambda: 0.0)
    built: list[str] = []

    def build() -> Finding:
        built.append("x")
        return _verify(TestAgent("stranger").raw("input", PAYLOAD)).findings[0]

    assert fold.admit_lazily("unknown_agent", "s1", build) is not None
    assert fold.admit_lazily("unknown_agent", "s2", build) is None  # folds across agents: the sender picks ids
    assert built == ["x"]
    items = [decode(RawRecord(TestAgent(f"s{i}").raw("input", PAYLOAD)), max_bytes=65536, max_depth=32) for i in (3, 4)]
    verdicts = [verify(item, _dir(), tier=Tier.ADVANCED, max_skew_s=300, fold=fold) for item in items]
    assert [(v.passed, v.reject_reason, v.findings) for v in verdicts] == [(False, "unknown_agent", [])] * 2
    assert [v.detail for v in verdicts] == ["event from unknown agent 's3'", "event from unknown agent 's4'"]
    again = verify(items[0], _dir(), tier=Tier.ADVANCED, max_skew_s=300)  # no fold: built, as before
    assert [f.rule for f in again.findings] == ["unknown_agent"] and again.detail == again.findings[0].summary
