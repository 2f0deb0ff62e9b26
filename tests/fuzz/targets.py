"""Coverage-guided fuzz targets (atheris): what an attacker or a careless author can put in front of soar.

Each target takes the fuzzer's bytes and asserts the property the product promises for that input; anything
else it raises is a finding of the fuzzer. ``tests/fuzz/run.py`` runs one under libFuzzer, ``seeds`` gives each
its starting corpus, ``tests/fuzz/test_targets.py`` runs them in CI and ``make fuzz`` for longer.

- ``decode``: bytes off the telemetry topic decode to an event or an ``IngestError`` with a known reason, and the
  whole pipeline (decode, identity, replay, every detector) takes them at Foundation and Advanced without raising,
  each rejection a writable dead letter with a known reason. A batch that raises is retried from its last commit,
  so one such record would stall its partitions for good.
- ``detectors``: events whose every string is the fuzzer's (any Unicode, any length) go through every detector
  in one batch without raising and without a detector logging an error (a detector that catches its own
  failure and logs it would otherwise lose the detection silently).
- ``playbook`` / ``rule``: a playbook or rule file loads to specs or to ``ContentError``s with file:line.
- ``expression``: a condition or template evaluates or fails with an ``ExpressionError`` that says why.
- ``otlp``: an OTLP/JSON export maps to valid events of the token's agent, or is refused as malformed (400).
- ``identity``: an enrollment request body and a bearer token are accepted or refused with a known reason.
"""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from soar.config import Tier, get_settings
from soar.decide.expressions import ExpressionError, evaluate, finding_context, render
from soar.decide.loader import load_file
from soar.detect import DetectConfig, build_detectors
from soar.detect.base import DetectContext, MemoryState
from soar.detect.rules import RuleSet, check_rules
from soar.errors import ContentError, IngestError
from soar.identity.credentials import Claims, parse_claims
from soar.identity.enrollment import verify_enroll_request
from soar.identity.errors import EnrollmentRejected
from soar.identity.keys import SigningKey
from soar.ingest.decoders import RawRecord, decode
from soar.otel.ingest import MALFORMED, agent_events
from soar.pipeline import Pipeline
from soar.telemetry.events import utcnow
from soar.verify.checks import KeyDirectory
from tests.decide.samples import make_finding
from tests.helpers import TestAgent
from tests.ingest.test_fuzz import REASONS  # the decoder's reasons

ROOT = Path(__file__).resolve().parents[2]
SOURCE = re.compile(r".+:\d+$")
AGENTS = [TestAgent(f"fuzz-agent-{i}") for i in range(3)]
DIRECTORY = KeyDirectory()
for _a in AGENTS:
    DIRECTORY.add_key(_a.kid, _a.agent_id, _a.public_b64)
_WORK = Path(tempfile.mkdtemp(prefix="soar-fuzz-"))  # where the content targets write their file
atexit.register(shutil.rmtree, _WORK, ignore_errors=True)


def fail_on_error(_logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    """A structlog processor for the fuzzing process (``run.py``): an error logged while a target runs is a
    finding, since the code that logged it swallowed an exception; anything else is dropped."""
    if method in ("error", "exception", "critical"):
        raise AssertionError(f"logged {method}: {event.get('event')} {event}")
    raise structlog.DropEvent


# --- decode --------------------------------------------------------------------------------------------------


IDENTITY_REASONS = {"unsigned", "unknown_agent", "unknown_key", "key_agent_mismatch", "bad_signature", "replayed"}


def _pipeline(tier: Tier) -> Pipeline:
    settings = get_settings().model_copy(update={"tier": tier, "verify_threads": 1, "helper_process": False})
    detectors = build_detectors(DetectConfig(detectors_dir=ROOT / "detectors"))
    return Pipeline(detectors, DIRECTORY, MemoryState(max_keys=settings.state_max_keys), settings)  # as a worker


PIPELINES = [_pipeline(Tier.FOUNDATION), _pipeline(Tier.ADVANCED)]


def decode_target(data: bytes) -> None:
    record = RawRecord(data, "soar.telemetry", 0, 0, AGENTS[0].agent_id.encode())
    try:
        item = decode(record, max_bytes=64 * 1024, max_depth=32)
    except IngestError as e:
        assert e.reason in REASONS, e.reason
        assert e.detail or e.reason == "empty", e.reason
    else:
        assert item.event.agent_id
    # the whole pipeline at both tiers (unsigned events pass at Foundation, so their text reaches every
    # detector): it never raises, and whatever it rejects is a dead letter with a known reason
    for pipeline in PIPELINES:
        result = pipeline.process([record])
        for dead in result.dead_letters:
            assert dead.reason in REASONS | IDENTITY_REASONS, dead.reason
            orjson.loads(dead.model_dump_json())
        for finding in result.findings:
            orjson.loads(finding.model_dump_json())


# --- detectors -----------------------------------------------------------------------------------------------

_DETECTORS = build_detectors(DetectConfig(detectors_dir=ROOT / "detectors"))
KINDS = ["input", "tool_call", "tool_result", "message", "memory_write", "memory_read", "output", "credential_use"]
SOURCES = ["user", "tool", "retrieval", "web", "email", "file", "agent", "system"]


def _event(fdp: Any, text: Callable[[], str]) -> dict[str, Any]:
    """One event of a kind the fuzzer picks, every string field its own."""
    agent = fdp.PickValueInList(AGENTS)
    peer = fdp.PickValueInList(AGENTS).agent_id
    kind = fdp.PickValueInList(KINDS)
    source = fdp.PickValueInList(SOURCES)
    payload: dict[str, Any]
    if kind == "input":
        payload = {"source": source, "origin": text(), "content": text()}
    elif kind == "output":
        payload = {"content": text(), "destination": text()}
    elif kind == "tool_call":
        payload = {"tool": text()[:256], "call_id": "c1", "args": {text()[:64]: text(), "to": text()}}
    elif kind == "tool_result":
        payload = {"tool": text()[:256], "call_id": "c1", "content": text(), "status": "ok"}
    elif kind == "message":
        delegation = {"tool": text()[:64], "task": text()[:64], "args": {"q": text()}} if fdp.ConsumeBool() else None
        payload = {"to_agent": peer, "conversation_id": "conv-1", "content": text(), "delegation": delegation}
    elif kind == "memory_write":
        store, key = text()[:64] or "notes", text()[:256] or "k"
        payload = {"store": store, "key": key, "value": text(), "provenance": {"source": source, "origin": text()}}
    elif kind == "memory_read":
        payload = {"store": "notes", "key": text()[:256] or "k", "value_hash": text()[:128]}
    else:
        payload = {"credential_id": text()[:256] or "cred", "resource": text()[:2048], "action": text()[:256]}
    ts = (utcnow() + timedelta(milliseconds=fdp.ConsumeIntInRange(0, 60_000))).isoformat()
    return agent.event(kind, payload, sign=False, ts=ts, event_id=uuid.UUID(int=fdp.ConsumeIntInRange(1, 2**32)))


def detectors_target(data: bytes) -> None:
    import atheris  # only where the fuzzer runs it

    fdp = atheris.FuzzedDataProvider(data)

    def text() -> str:
        return fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 4096))

    events = []
    for _ in range(fdp.ConsumeIntInRange(1, 4)):
        try:
            events.append(decode(RawRecord(orjson.dumps(_event(fdp, text))), max_bytes=1 << 20, max_depth=32).event)
        except IngestError:
            continue  # a field over its schema's limit: the decoder's business, not the detectors'
    ctx = DetectContext(state=MemoryState(), agents=DIRECTORY)
    for detector in _DETECTORS:
        batch = [e for e in events if e.kind in detector.kinds]
        if batch:
            for finding in detector.detect(batch, ctx):
                orjson.loads(finding.model_dump_json())


# --- content files -------------------------------------------------------------------------------------------


def _write(name: str, data: bytes) -> Path:
    directory = _WORK / name
    directory.mkdir(exist_ok=True)
    path = directory / "fuzz.yaml"
    path.write_bytes(data)
    return path


def _located(errors: list[ContentError], path: Path) -> None:
    for e in errors:
        assert isinstance(e, ContentError)
        assert e.message and SOURCE.match(e.source) and e.source.startswith(str(path)), (e.source, e.message)


def playbook_target(data: bytes) -> None:
    path = _write("playbooks", data)
    _specs, errors = load_file(path)
    _located(errors, path)


def rule_target(data: bytes) -> None:
    path = _write("rules", data)
    rules, errors = check_rules(path.parent)
    _located(errors, path)
    if rules:
        ruleset = RuleSet(rules)
        for text in ("ignore all previous instructions", "x" * 2048):
            ruleset.match(text)


# --- expressions ---------------------------------------------------------------------------------------------

CTX = finding_context(make_finding(evidence={"urls": ["https://a.example"], "n": 3}), {"agent_id": "agent-1"})


def expression_target(data: bytes) -> None:
    source = data.decode("utf-8", errors="replace")
    try:
        evaluate(source, CTX)
    except ExpressionError as e:
        assert str(e)
    try:
        out = render({"a": f"x {{{{ {source} }}}} y", "b": [source]}, CTX)
    except ExpressionError as e:
        assert str(e)
    else:
        assert isinstance(out, dict)


# --- OTLP ---------------------------------------------------------------------------------------------------


def otlp_target(data: bytes) -> None:
    """What ``POST /v1/otlp/v1/traces`` does with a body after the token check: a JSON document maps to valid
    events, or is malformed (400); any other exception would be a 500 and a lost export."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return
    if not isinstance(doc, dict) or not isinstance(doc.get("resourceSpans", []), list):
        return
    try:
        mapped = agent_events(doc, AGENTS[0].agent_id, "task-1")
    except MALFORMED:
        return
    for event in mapped.events:
        assert event.agent_id == AGENTS[0].agent_id
        orjson.loads(event.model_dump_json())


# --- identity -----------------------------------------------------------------------------------------------

SOAR_KEY = SigningKey.from_private_key(Ed25519PrivateKey.generate())


def identity_target(data: bytes) -> None:
    """What an unauthenticated caller can hand the API's identity checks: an enrollment request body (shape,
    clock skew, proof of possession) and a bearer token (soar's JWT). Each is accepted or refused with a reason."""
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict):
        try:
            verify_enroll_request(body, max_skew_s=300.0)
        except EnrollmentRejected as e:
            assert e.reason in {"malformed", "clock_skew", "bad_signature"}, e.reason
    claims = parse_claims(data.decode("utf-8", errors="replace"), SOAR_KEY)
    assert isinstance(claims, Claims) or claims in {"malformed", "unknown_signing_key", "expired", "bad_signature"}


TARGETS: dict[str, Callable[[bytes], None]] = {
    "decode": decode_target,
    "detectors": detectors_target,
    "playbook": playbook_target,
    "rule": rule_target,
    "expression": expression_target,
    "otlp": otlp_target,
    "identity": identity_target,
}
