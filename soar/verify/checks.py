"""Signature, key and containment-state checks, as plain functions over a ``KeyDirectory`` snapshot.

Rule names (detector ``identity``): ``unsigned_event``, ``unknown_agent``, ``unknown_key``,
``key_agent_mismatch``, ``bad_signature``, ``activity_while_quarantined``, ``clock_skew``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from soar.config import Tier
from soar.detect.base import AgentProfile, CredentialGrant
from soar.ingest.decoders import Ingested
from soar.telemetry.events import is_restore_confirmation, utcnow
from soar.telemetry.findings import Finding, Severity
from soar.telemetry.signing import SignatureJob, b64u_decode, verify_bytes

DETECTOR = "identity"
_TAGS_SPOOF = ["AML.T0012", "ASI03", "LLM06:2025"]


@dataclass
class KeyDirectory:
    """A snapshot of enrolled agents, their active keys, containment state and the task credentials soar issued
    (refreshed by the worker; detectors consult it as ``ctx.agents``)."""

    keys: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # kid -> (agent_id, raw public key)
    agents: dict[str, AgentProfile] = field(default_factory=dict)
    quarantined: set[str] = field(default_factory=set)
    credentials: dict[str, CredentialGrant] = field(default_factory=dict)  # credential id -> grant as issued

    def profile(self, agent_id: str) -> AgentProfile | None:
        """AgentDirectory protocol: the agent's profile."""
        return self.agents.get(agent_id)

    def credential(self, credential_id: str) -> CredentialGrant | None:
        """The credential as issued (owner, task, scopes), or None when the snapshot does not hold it."""
        return self.credentials.get(credential_id)

    def add_key(self, kid: str, agent_id: str, public_key_b64: str) -> None:
        """Register a key (from the store)."""
        self.keys[kid] = (agent_id, b64u_decode(public_key_b64))


@dataclass
class Verdict:
    """What verify concluded about one event."""

    passed: bool  # continue to detection
    findings: list[Finding]
    reject_reason: str | None = None  # dead-letter the event with this reason
    detail: str = ""  # why it was rejected (the rejection finding's summary, built or folded)


def signature_job(item: Ingested, directory: KeyDirectory) -> SignatureJob | None:
    """``(canonical, sig, public key)`` when ``verify`` would check this event's signature, else None.

    The pipeline checks a batch's signatures together (``verify_many``, on several threads) and passes
    each result to ``verify`` as ``signature_ok``.
    """
    ev = item.event
    if not ev.sig or not ev.kid:
        return None
    entry = directory.keys.get(ev.kid)
    if entry is None or entry[0] != ev.agent_id:
        return None
    return item.canonical, ev.sig, entry[1]


def verify(
    item: Ingested,
    directory: KeyDirectory,
    *,
    tier: Tier,
    max_skew_s: float,
    signature_ok: bool | None = None,
    fold: IdentityFold | None = None,
) -> Verdict:
    """Check one event's identity; see the module docstring for the findings it can make.

    ``signature_ok`` is the result of checking ``signature_job(item, directory)`` when the caller has
    already done so; without it the signature is checked here. With ``fold`` a rejection's finding goes
    through it, and is built only when it is reported (a flood of forgeries builds one per window).
    """
    ev = item.event
    findings: list[Finding] = []

    def make(rule: str, sev: Severity, conf: float, summary: str, **evidence: object) -> Finding:
        return Finding.make(
            detector=DETECTOR,
            rule=rule,
            event=ev,
            severity=sev,
            confidence=conf,
            summary=summary,
            evidence={"kind": ev.kind, "kid": ev.kid, **evidence},
            tags=_TAGS_SPOOF,
        )

    def finding(rule: str, sev: Severity, conf: float, summary: str, **evidence: object) -> None:
        findings.append(make(rule, sev, conf, summary, **evidence))

    def reject(reason: str, rule: str, sev: Severity, conf: float, summary: str, **evidence: object) -> Verdict:
        def build() -> Finding:
            return make(rule, sev, conf, summary, **evidence)

        reported = build() if fold is None else fold.admit_lazily(rule, ev.agent_id, build)
        return Verdict(False, [reported] if reported is not None else [], reject_reason=reason, detail=summary)

    if not ev.sig or not ev.kid:
        if tier is Tier.FOUNDATION:
            finding("unsigned_event", Severity.MEDIUM, 1.0, f"unsigned {ev.kind} event from {ev.agent_id}")
        else:
            summary = f"unsigned {ev.kind} event from {ev.agent_id} rejected"
            return reject("unsigned", "unsigned_event", Severity.HIGH, 1.0, summary)
    else:
        entry = directory.keys.get(ev.kid)
        if entry is None:
            if ev.agent_id not in directory.agents:
                summary = f"event from unknown agent {ev.agent_id!r}"
                return reject("unknown_agent", "unknown_agent", Severity.HIGH, 0.9, summary)
            summary = f"{ev.agent_id} signed with unregistered key {ev.kid}"
            return reject("unknown_key", "unknown_key", Severity.HIGH, 0.9, summary)
        owner, key = entry
        if owner != ev.agent_id:
            summary = f"event claims agent {ev.agent_id!r} but is signed with {owner!r}'s key"
            return reject("key_agent_mismatch", "key_agent_mismatch", Severity.CRITICAL, 1.0, summary, key_owner=owner)
        if not (verify_bytes(item.canonical, ev.sig, key) if signature_ok is None else signature_ok):
            summary = f"bad signature on {ev.kind} event from {ev.agent_id}"
            return reject("bad_signature", "bad_signature", Severity.CRITICAL, 1.0, summary)

    # heartbeats, and the SDK's reads confirming a restore (task "restore:<command id>"), are expected
    confirming = is_restore_confirmation(ev)
    if ev.agent_id in directory.quarantined and ev.kind != "lifecycle" and not confirming:
        finding(
            "activity_while_quarantined",
            Severity.HIGH,
            1.0,
            f"quarantined agent {ev.agent_id} is still acting ({ev.kind})",
        )
    if ev.ts - utcnow() > timedelta(seconds=max_skew_s):
        finding(
            "clock_skew", Severity.MEDIUM, 0.8, f"event ts {ev.ts.isoformat()} is in the future", ts=ev.ts.isoformat()
        )
    return Verdict(True, findings)


class IdentityFold:
    """Folds repeated identity rejections (forgeries, and replays where they are rejected) into one finding per
    window, so a flood of them cannot flood the responder (and on-call) with one finding each.

    The first rejection of a key in a window is reported at once; later ones in the same window are counted,
    and the next reported finding for that key carries the count (``evidence.folded_since_last``). Nothing is
    lost: every rejected event is also dead-lettered with its reason. The key is (rule, agent_id), except for
    ``unknown_agent``, whose agent id the sender chooses freely: that rule folds across agents.
    Memory is bounded: at most ``max_keys`` keys, the oldest dropped first.
    """

    def __init__(self, window_s: float, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self.max_keys = max_keys
        self.clock = clock
        self._open: dict[tuple[str, str], tuple[float, int]] = {}  # key -> (window start, folded count)

    def admit(self, finding: Finding) -> Finding | None:
        """``finding`` (with the count folded since the last one) if it opens a window, else None."""
        return self.admit_lazily(finding.rule, finding.agent_id, lambda: finding)

    def admit_lazily(self, rule: str, agent_id: str, build: Callable[[], Finding]) -> Finding | None:
        """``admit`` for the finding ``build`` makes, called only when that finding is reported."""
        if self.window_s <= 0:
            return build()
        key = (rule, "*" if rule == "unknown_agent" else agent_id)
        now = self.clock()
        start, folded = self._open.get(key, (float("-inf"), 0))
        if now - start < self.window_s:
            self._open[key] = (start, folded + 1)
            return None
        self._open.pop(key, None)
        while len(self._open) >= self.max_keys:
            self._open.pop(next(iter(self._open)))
        self._open[key] = (now, 0)
        finding = build()
        if folded:
            evidence = {**finding.evidence, "folded_since_last": folded, "fold_window_s": self.window_s}
            return finding.model_copy(update={"evidence": evidence})
        return finding
