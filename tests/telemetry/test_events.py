"""The telemetry contract: every kind parses, the schema is exported, findings are deterministic."""

import pytest
from pydantic import ValidationError

from soar.telemetry.events import EVENT_KINDS, PAYLOADS, new_event, telemetry_schema
from soar.telemetry.findings import Finding, Severity, finding_id_for

SAMPLES = {
    "input": {"source": "web", "origin": "https://x", "content": "page"},
    "output": {"content": "done", "destination": "user"},
    "tool_call": {"tool": "search", "call_id": "c1", "args": {"q": "x"}, "credential_id": "cred"},
    "tool_result": {"tool": "search", "call_id": "c1", "content": "results", "status": "ok"},
    "memory_write": {"store": "long_term", "key": "k", "value": "v", "provenance": {"source": "user"}},
    "memory_read": {"store": "long_term", "key": "k", "value_hash": "ab" * 32},
    "message": {"to_agent": "b", "content": "hi", "delegation": {"tool": "payments.transfer"}},
    "credential_use": {"credential_id": "c", "resource": "crm://x", "action": "read"},
    "lifecycle": {"state": "started", "model": "m", "version": "1"},
}


def test_events_every_kind_has_a_sample() -> None:
    assert set(SAMPLES) == set(EVENT_KINDS) == set(PAYLOADS)


@pytest.mark.parametrize("kind", EVENT_KINDS)
def test_events_each_kind_round_trips(kind: str) -> None:
    ev = new_event(kind, "agent-1", SAMPLES[kind], task_id="t")
    assert ev.kind == kind
    assert type(ev).model_validate_json(ev.model_dump_json()) == ev


def test_events_unknown_payload_key_is_rejected() -> None:
    with pytest.raises(ValidationError):
        new_event("input", "a", {"source": "web", "content": "x", "colour": "red"})


def test_events_schema_lists_every_kind() -> None:
    schema = telemetry_schema()
    assert set(schema["discriminator"]["mapping"]) == set(EVENT_KINDS)


def test_findings_id_and_ocsf() -> None:
    ev = new_event("input", "a", SAMPLES["input"])
    f = Finding.make(detector="d", rule="r", event=ev, severity="high", confidence=0.9, summary="s", tags=["AML.T0051"])
    assert f.finding_id == finding_id_for("d", "r", ev.event_id)
    assert f.severity is Severity.HIGH and f.model_dump(mode="json")["severity"] == "high"
    ocsf = f.to_ocsf()
    assert ocsf["class_uid"] == 2004 and ocsf["severity_id"] == 4


def test_verify_many_matches_verify_bytes_on_a_pool() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from soar.telemetry.signing import b64u, raw_public_key, verify_bytes, verify_many

    key = Ed25519PrivateKey.generate()
    pub = raw_public_key(key.public_key())
    jobs = []
    for i in range(100):
        msg = f"event {i}".encode()
        sig = b64u(key.sign(msg))
        jobs.append((msg if i % 9 else msg + b"x", sig if i % 13 else "AAAA", pub))
    with ThreadPoolExecutor(2) as pool:
        threaded = verify_many(jobs, pool, shares=3)
    assert threaded == verify_many(jobs) == [verify_bytes(c, s, k) for c, s, k in jobs]
    assert threaded.count(False) == len([i for i in range(100) if i % 9 == 0 or i % 13 == 0])


def test_verdict_cache_answers_only_the_exact_check_and_stays_bounded() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from soar.telemetry.signing import VerdictCache, b64u, raw_public_key

    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    pub = raw_public_key(key.public_key())
    long = b"x" * (VerdictCache.INLINE + 1)  # kept as a digest
    cache = VerdictCache(size=2)
    for msg in (b"event", long):
        job = (msg, b64u(key.sign(msg)), pub)
        cache.put(job, True)
        assert cache.get(job) is True
        # another key, or other bytes under the same signature: not the check that was answered
        assert cache.get((msg, job[1], raw_public_key(other.public_key()))) is None
        assert cache.get((msg + b" ", job[1], pub)) is None and cache.get((msg[:-1], job[1], pub)) is None
        assert cache.get((msg, b64u(key.sign(b"other")), pub)) is None
    # bytes that happen to equal the digest kept for a long message are not that message
    long_job = (long, b64u(key.sign(long)), pub)
    assert cache.get((VerdictCache._digest(long), long_job[1], pub)) is None
    for i in range(5):  # two generations of two entries: the oldest fall out
        cache.put((f"m{i}".encode(), f"s{i}", pub), False)
    assert len(cache) <= 4 and cache.get((b"event", b64u(key.sign(b"event")), pub)) is None
    assert cache.get((b"m4", "s4", pub)) is False
    off = VerdictCache(size=0)
    off.put((b"m", "s", pub), True)
    assert off.get((b"m", "s", pub)) is None and len(off) == 0
