"""``CoordinationDetector``: multi-agent abuse seen in message traffic.

* ``relay_to_new_peers`` (high): an agent forwards content it *received* (from another agent, or from
  untrusted input: web, e-mail, tool results...) to two or more peers it never messaged before, within a
  window: the shape of a self-propagating prompt ("forward this to every agent you work with").
* ``unauthorized_delegation`` (high): a message asks the recipient to run a tool (``delegation.tool``) that
  the sender does not hold and the recipient does: a confused-deputy request. No warm-up needed.
* ``new_peer_fanout`` (medium): after a baseline of messages, an agent contacts many peers it has never
  exchanged messages with, within a short window.
* ``relay_chain`` (high): self-replicating content (near-identical both ways) passed on by two or more agents
  in a row, starting from untrusted input, with a sign of infection: the content carries instructions (the
  ``injection`` rules of the pack match it), a hop goes to a peer the forwarder never exchanged messages with
  (after its warm-up: the learned graph), or a forwarder spreads it to two or more peers. A forwarding
  pipeline (intake -> review -> filing, along known edges, no instructions) passes content on just the same
  and is not flagged: prompt infection across three or more agents is.
* ``collusion_loop`` (high): a delegation in one conversation goes back to an agent that already delegated in
  it, closing a cycle of three or more agents (A -> B -> C -> A).
* ``delegation_depth`` (medium): a delegation chain in one conversation reaches ``max_delegation_depth``.
* ``anomalous_coordination`` (medium): an agent's window of activity scores above the calibrated threshold of
  the fleet's learned IsolationForest baseline (``soar/detect/baseline.py``).

Near-duplicates are found with bottom-k sketches of word-shingle hashes (``soar/detect/fingerprints.py``): a
message is fingerprinted once, and compared with all of the sender's received items in one vectorised pass.
All state lives in ``ctx.state`` under the agent's id and is bounded: peers, received items and relay records
are capped, and window entries expire by event timestamp.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import numpy as np
import structlog
from pydantic import BaseModel, ConfigDict, Field

from soar.detect.base import DetectConfig, DetectContext
from soar.detect.baseline import (
    FEATURES,
    BaselineOptions,
    FleetBaseline,
    FleetModel,
    is_early,
    new_window,
    window_row,
)
from soar.detect.fingerprints import (
    _sketch,
    containment,
    containments,
    containments_both,
    fingerprint,
    pack,
    shingle_hashes,
    unpack,
)
from soar.detect.injection import rules_for
from soar.detect.normalize import normalize
from soar.detect.rules import RuleSet, RuleSpec, SeverityName
from soar.telemetry.events import UNTRUSTED_SOURCES, AgentEvent, MessageEvent
from soar.telemetry.findings import Finding, Severity

log = structlog.get_logger(__name__)
# fingerprints are re-exported: tests and callers import them from here
__all__ = [
    "AGENT_NS",
    "RECEIVED_NS",
    "CoordinationDetector",
    "CoordinationOptions",
    "containment",
    "containments",
    "containments_both",
    "fingerprint",
    "pack",
    "shingle_hashes",
    "unpack",
]

AGENT_NS = "coord.agent"
RECEIVED_NS = "coord.received"
_TAGS = ["ASI07", "ASI08", "LLM06:2025"]


class CoordinationOptions(BaseModel):
    """Tuning for ``CoordinationDetector`` (``DetectConfig.options["coordination"]``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    shingle_words: int = Field(default=5, ge=2)
    sketch_size: int = Field(default=256, ge=16, description="shingle hashes kept per received item")
    min_shingles: int = Field(default=16, ge=1, description="shorter content is not fingerprinted (canned replies)")
    similarity: float = Field(default=0.7, gt=0, le=1, description="containment that counts as a near-duplicate")
    max_received: int = Field(default=32, ge=1, description="received items remembered per agent")
    max_peers: int = Field(default=256, ge=8)
    max_chars: int = Field(default=65_536, ge=1024, description="text fingerprinted per event")
    relay_window_s: float = Field(default=900.0, gt=0)
    relay_min_new_peers: int = Field(default=2, ge=1)
    relay_warmup_messages: int = Field(default=0, ge=0, description="messages an agent sends before relays count")
    fanout_window_s: float = Field(default=300.0, gt=0)
    fanout_threshold: int = Field(default=4, ge=2, description="new peers in the window that make a fan-out")
    fanout_warmup_messages: int = Field(default=5, ge=0, description="baseline before new peers are judged")
    chain_min_forwarders: int = Field(default=2, ge=1, description="agents in a row passing on the same content")
    chain_similarity: float = Field(default=0.6, gt=0, le=1, description="containment both ways for a chain hop")
    chain_min_shingles: int = Field(
        default=20, ge=1, description="shorter content is not followed along chains (formulaic one-liners repeat)"
    )
    chain_require_signal: bool = Field(
        default=True,
        description="a chain needs instructions in the content, a hop off the learned graph or a fan-out "
        "(False: any chain from untrusted input counts, pipelines included)",
    )
    chain_warmup_messages: int = Field(
        default=20,
        ge=0,
        description="messages a forwarder sends before a hop to a new peer is a sign (its usual peers are known "
        "by then; a pipeline's first run inside the warm-up is learned, not flagged)",
    )
    chain_fanout: int = Field(default=2, ge=2, description="peers one forwarder passes the same content to")
    max_delegation_depth: int = Field(default=4, ge=2, description="delegations in a row in one conversation")
    relay_severity: SeverityName = Severity.HIGH
    delegation_severity: SeverityName = Severity.HIGH
    fanout_severity: SeverityName = Severity.MEDIUM
    chain_severity: SeverityName = Severity.HIGH
    loop_severity: SeverityName = Severity.HIGH
    depth_severity: SeverityName = Severity.MEDIUM
    anomaly_severity: SeverityName = Severity.MEDIUM
    baseline: BaselineOptions = BaselineOptions()


class _Ref:
    """The event a window finding points at (the window's last event): what ``Finding.make`` reads."""

    def __init__(self, ref: dict[str, Any], agent_id: str) -> None:
        self.event_id = uuid.UUID(ref["eid"])
        self.agent_id = agent_id
        self.task_id = ref.get("task", "")
        self.ts = datetime.fromtimestamp(ref["ts"], UTC)


class CoordinationDetector:
    """Relays, relay chains, confused-deputy delegation, collusion loops, fan-out and the learned baseline."""

    name: ClassVar[str] = "coordination"
    kinds: ClassVar[frozenset[str]] = frozenset({"message", "input", "tool_result", "tool_call"})

    def __init__(self, config: DetectConfig, rules: list[RuleSpec] | None = None) -> None:
        """``rules``: the parsed rule pack when the caller has it (``build_detectors`` parses it once)."""
        self.options: CoordinationOptions = CoordinationOptions.model_validate(config.options.get(self.name, {}))
        self.baseline = FleetBaseline(self.options.baseline)
        self.instructions = _instruction_rules(config, rules)

    def detect(self, events: Sequence[AgentEvent], ctx: DetectContext) -> list[Finding]:
        """Findings for a batch, in event order (baseline findings after the rules')."""
        out: list[Finding] = []
        pending: list[tuple[str, dict[str, Any], tuple[float, ...]]] = []  # windows to score this batch
        for event in events:
            try:
                if isinstance(event, MessageEvent):
                    found = self.on_message(event, ctx, pending)
                    out.extend(found)
                elif event.kind == "tool_call":
                    self._note_tool(event, ctx, pending)
                elif event.kind == "tool_result" or (
                    event.kind == "input" and event.payload.source in UNTRUSTED_SOURCES  # type: ignore[union-attr]
                ):
                    self._receive(ctx, event.agent_id, event, event.text(), _origin(event))
            except Exception:
                log.exception("detector_event_failed", detector=self.name, event_id=str(event.event_id))
        if pending and self.options.baseline.enabled:
            try:
                out.extend(self._score(pending))
            except Exception:
                log.exception("baseline_score_failed", detector=self.name, windows=len(pending))
        return out

    # --- state helpers -----------------------------------------------------------------------------------------

    def _agent(self, ctx: DetectContext, agent_id: str) -> dict[str, Any]:
        st = ctx.state.get(AGENT_NS, agent_id) or {
            "sent_to": {},  # peer -> last ts
            "heard_from": {},  # peer -> last ts
            "n": 0,  # messages sent
            "new_peers": [],  # [ts, peer] first contacts, for fan-out
            "relays": [],  # [ts, item event id, peer, message event id]
            "flagged_items": [],
            "fanout_quiet_until": 0.0,
            "tools_used": [],
        }
        st.setdefault("deleg_in", {})  # conversation -> agents that delegated along it to reach this agent
        st.setdefault("flagged_convs", [])
        return st

    def _cap(self, peers: dict[str, float]) -> dict[str, float]:
        if len(peers) <= self.options.max_peers:
            return peers
        keep = sorted(peers.items(), key=lambda kv: kv[1])[-self.options.max_peers :]
        return dict(keep)

    def _note_tool(
        self, event: AgentEvent, ctx: DetectContext, pending: list[tuple[str, dict[str, Any], tuple[float, ...]]]
    ) -> None:
        st = self._agent(ctx, event.agent_id)
        tool = event.payload.tool  # type: ignore[union-attr]
        if tool not in st["tools_used"]:
            st["tools_used"] = [*st["tools_used"], tool][-64:]
        if self.options.baseline.enabled:
            w = self._window(st, event, pending)
            w["tool_calls"] += 1
        ctx.state.set(AGENT_NS, event.agent_id, st)

    def _receive(
        self,
        ctx: DetectContext,
        agent_id: str,
        event: AgentEvent,
        text: str,
        origin: dict[str, Any],
        hashes: np.ndarray | None = None,
    ) -> None:
        """Remember a fingerprint of content ``agent_id`` took in (``hashes``: its fingerprint, if computed)."""
        o = self.options
        if hashes is None:
            hashes = fingerprint(text, o.shingle_words, o.max_chars)
        if len(hashes) < o.min_shingles:
            return
        sketch, threshold = _sketch(hashes, o.sketch_size)
        packed = pack(sketch)
        head = packed[:40]  # the first 30 bytes: 7 whole hashes, the same for the same content
        now = event.ts.timestamp()
        # the same content again: keep the newest, counting how often it came in (within the relay window).
        # One pass, and ``startswith`` instead of slicing each stored sketch: ``h[:40] == head`` exactly.
        whole = len(head) == 40
        items: list[dict[str, Any]] = []
        again, copies = False, 0
        for i in ctx.state.get(RECEIVED_NS, agent_id) or []:
            h = i["h"]
            if h.startswith(head) and (whole or len(h) == len(head)):
                if now - i["ts"] <= o.relay_window_s:
                    again, copies = True, copies + i.get("k", 1)
            else:
                items.append(i)
        item = {"h": packed, "t": threshold, "eid": str(event.event_id), "ts": now, **origin}
        if again:
            item["k"] = copies + 1
        items.append(item)
        ctx.state.set(RECEIVED_NS, agent_id, items[-o.max_received :])

    # --- windows (the baseline's features) ---------------------------------------------------------------------

    def _window(
        self, st: dict[str, Any], event: AgentEvent, pending: list[tuple[str, dict[str, Any], tuple[float, ...]]]
    ) -> dict[str, Any]:
        """The agent's open window at ``event``; a window past its end is closed, queued and replaced."""
        now = event.ts.timestamp()
        w = st.get("win")
        if w is not None and now - w["start"] >= self.options.baseline.window_s:
            if w["last"] is not None:
                pending.append((event.agent_id, w, window_row(w)))
            w = None
        if w is None:
            w = new_window(now)
            st["win"] = w
        w["last"] = {"eid": str(event.event_id), "task": event.task_id, "ts": now}
        return w

    def _score(self, pending: list[tuple[str, dict[str, Any], tuple[float, ...]]]) -> list[Finding]:
        """Score queued windows; closed benign ones become history (which may refit the model)."""
        b = self.baseline
        found: list[Finding] = []
        scored = b.score([row for _, _, row in pending])
        for i, (agent_id, w, row) in enumerate(pending):
            closed = w.get("closed", True)
            hit = False
            if scored is not None:
                scores, flagged, novel, model = scored
                if flagged[i] and not w["flagged"]:
                    hit = True
                    w["flagged"] = True
                    w.get("_live", w)["flagged"] = True
                    found.append(self._anomaly(agent_id, w, row, float(scores[i]), int(novel[i]), model))
            if closed and not hit and not w["flagged"]:
                b.learn(row)
        return found

    def _anomaly(
        self, agent_id: str, w: dict[str, Any], row: tuple[float, ...], score: float, novel: int, model: FleetModel
    ) -> Finding:
        features = dict(zip(FEATURES, row, strict=True))
        beyond = [k for k, v, m in zip(FEATURES, row, model.maxima, strict=True) if v > 2 * m + 1]
        top = beyond or sorted(features, key=lambda k: -features[k])[:3]
        reason = (
            f"{novel} features far beyond the fleet's history"
            if score < model.threshold
            else f"score {score:.2f} >= {model.threshold:.2f}"
        )
        last = w["last"]["eid"]
        return Finding.make(
            detector=self.name,
            rule="anomalous_coordination",
            event=_Ref(w["last"], agent_id),
            extra_event_ids=[uuid.UUID(e) for e in w["eids"] if e != last],
            severity=self.options.anomaly_severity,
            confidence=round(min(0.4 + max(score - model.threshold, 0.0) * 2 + 0.1 * novel, 0.8), 3),
            summary=f"{agent_id}'s coordination in the last {self.options.baseline.window_s:g}s is unlike the "
            f"fleet's baseline ({reason}; " + ", ".join(f"{k} {features[k]:g}" for k in top) + ")",
            evidence={
                "features": features,
                "score": round(score, 4),
                "threshold": round(model.threshold, 4),
                "novel_features": beyond,
                "history_max": dict(zip(FEATURES, model.maxima.tolist(), strict=True)),
                "model_version": model.version,
                "trained_rows": model.trained_rows,
                "window_start": w["start"],
            },
            tags=_TAGS,
        )

    # --- messages ----------------------------------------------------------------------------------------------

    def on_message(
        self,
        event: MessageEvent,
        ctx: DetectContext,
        pending: list[tuple[str, dict[str, Any], tuple[float, ...]]] | None = None,
    ) -> list[Finding]:
        """Every message rule for one message; then learn the edge, the recipient's receipt and the window."""
        o = self.options
        pending = [] if pending is None else pending
        sender, recipient = event.agent_id, event.payload.to_agent
        now = event.ts.timestamp()
        st = self._agent(ctx, sender)
        findings: list[Finding] = []
        delegation = self._delegation(event, ctx, st)
        if delegation is not None:
            findings.append(delegation)
        depth, deleg_findings = self._delegation_chain(event, ctx, st)
        findings.extend(deleg_findings)
        never_sent = recipient not in st["sent_to"]
        hashes = fingerprint(event.payload.content, o.shingle_words, o.max_chars)
        receipt: dict[str, Any] = {"from": sender, "src": "agent"}
        relayed = False
        new_peer = never_sent and recipient not in st["heard_from"]
        if len(hashes) >= o.min_shingles:
            match = self._best_received(event, ctx, hashes, now)
            if match is not None:
                best, score, both, copies = match
                relayed = True
                if never_sent and st["n"] >= o.relay_warmup_messages:
                    relay = self._relay(event, st, best, score, now)
                    if relay is not None:
                        findings.append(relay)
                if both >= o.chain_similarity and len(hashes) >= o.chain_min_shingles:
                    fwd = [*best.get("fwd", []), sender][-16:]
                    receipt.update(fwd=fwd, u=bool(best.get("u") or best.get("src", "agent") != "agent"))
                    receipt["origin"] = best.get("origin") or best.get("from", "")
                    if receipt["u"]:
                        self._chain_signals(st, best, copies, receipt, recipient, new_peer, now)
                    chain = self._chain(event, st, best, fwd, receipt)
                    if chain is not None:
                        findings.append(chain)
        if new_peer:
            fanout = self._fanout(event, st, now)
            if fanout is not None:
                findings.append(fanout)
        if o.baseline.enabled:
            self._count_message(event, st, new_peer, depth, relayed, pending, bool(findings))
        st["sent_to"] = self._cap({**st["sent_to"], recipient: now})
        st["n"] += 1
        ctx.state.set(AGENT_NS, sender, st)
        peer = st if recipient == sender else self._agent(ctx, recipient)
        peer["heard_from"] = self._cap({**peer["heard_from"], sender: now})
        ctx.state.set(AGENT_NS, recipient, peer)
        self._receive(ctx, recipient, event, event.payload.content, receipt, hashes)
        return findings

    def _count_message(
        self,
        event: MessageEvent,
        st: dict[str, Any],
        new_peer: bool,
        depth: int,
        relayed: bool,
        pending: list[tuple[str, dict[str, Any], tuple[float, ...]]],
        flagged: bool,
    ) -> None:
        w = self._window(st, event, pending)
        now = event.ts.timestamp()
        w["messages"] += 1
        if event.payload.to_agent not in w["peers"]:
            w["peers"] = [*w["peers"], event.payload.to_agent][-64:]
        w["new_peers"] += int(new_peer)
        w["delegation_depth"] = max(w["delegation_depth"], depth)
        deleg = event.payload.delegation
        w["tools_delegated"] += int(deleg is not None and bool(deleg.tool))
        w["relays"] += int(relayed)
        in_bucket, bursting = self.baseline.note_send(event.agent_id, now)
        w["synchrony"] = max(w["synchrony"], bursting)
        w["peak_rate"] = max(w["peak_rate"], in_bucket)
        w["eids"] = [*w["eids"], str(event.event_id)][-8:]
        w["flagged"] = w["flagged"] or flagged
        if is_early(w["messages"], self.options.baseline.early_every) and not w["flagged"]:
            pending.append((event.agent_id, {**w, "closed": False, "_live": w}, window_row(w)))

    def _best_received(
        self, event: MessageEvent, ctx: DetectContext, hashes: np.ndarray, now: float
    ) -> tuple[dict[str, Any], float, float, dict[str, int]] | None:
        """The sender's received item this message repeats: (item, containment, containment both ways, and
        every received item it repeats: event id -> how many times that content came in)."""
        o = self.options
        recipient = event.payload.to_agent
        items = [
            i
            for i in ctx.state.get(RECEIVED_NS, event.agent_id) or []
            if i.get("from") != recipient and now - i["ts"] <= o.relay_window_s
        ]
        if not items:
            return None
        a, b = containments_both(hashes, items)
        scores = np.maximum(a, b)
        near = np.flatnonzero(scores >= o.similarity)
        if not len(near):
            return None
        # content the agent also took in first-hand (its own fetch, its own mail) is not a hop of someone
        # else's chain: prefer the shortest forwarding history, then the closest match
        top = int(min(near, key=lambda i: (len(items[i].get("fwd", [])), -scores[i])))
        copies = {items[i]["eid"]: int(items[i].get("k", 1)) for i in near}
        return items[top], float(scores[top]), float(min(a[top], b[top])), copies

    def _delegation(self, event: MessageEvent, ctx: DetectContext, st: dict[str, Any]) -> Finding | None:
        deleg = event.payload.delegation
        if deleg is None or not deleg.tool:
            return None
        sender = ctx.agents.profile(event.agent_id)
        recipient = ctx.agents.profile(event.payload.to_agent)
        sender_tools = sender.tools if sender else frozenset()
        if deleg.tool in sender_tools or recipient is None or deleg.tool not in recipient.tools:
            return None
        return Finding.make(
            detector=self.name,
            rule="unauthorized_delegation",
            event=event,
            severity=self.options.delegation_severity,
            confidence=0.85,
            summary=f"{event.agent_id} asked {event.payload.to_agent} to run {deleg.tool}, a tool it does not hold",
            evidence={
                "sender": event.agent_id,
                "recipient": event.payload.to_agent,
                "tool": deleg.tool,
                "task": deleg.task,
                "arg_keys": sorted(deleg.args),
                "sender_enrolled": sender is not None,
                "sender_tools": sorted(sender_tools),
                "sender_seen_using_tool": deleg.tool in st["tools_used"],
                "conversation_id": event.payload.conversation_id,
            },
            tags=["ASI03", "ASI07", "LLM06:2025", "AML.T0053"],
        )

    def _delegation_chain(
        self, event: MessageEvent, ctx: DetectContext, st: dict[str, Any]
    ) -> tuple[int, list[Finding]]:
        """Depth of this delegation in its conversation; ``collusion_loop`` / ``delegation_depth`` findings.

        The chain rides along with the delegation: the recipient remembers which agents delegated, in order,
        to reach it in this conversation, so a loop back to one of them is seen without a global graph.
        """
        deleg = event.payload.delegation
        conv = event.payload.conversation_id
        if deleg is None or not conv:
            return 0, []
        o = self.options
        sender, recipient = event.agent_id, event.payload.to_agent
        chain = [*st["deleg_in"].get(conv, {}).get("chain", []), sender]
        asks = [*st["deleg_in"].get(conv, {}).get("asks", []), deleg.tool or deleg.task or ""]
        out: list[Finding] = []
        flagged = conv in st["flagged_convs"]
        if recipient in chain and not flagged:
            loop = chain[chain.index(recipient) :]
            if len(set(loop)) >= 3:
                flagged = True
                out.append(
                    self._chain_finding(
                        event,
                        "collusion_loop",
                        o.loop_severity,
                        0.8,
                        f"delegations in conversation {conv} loop back to {recipient}: "
                        + " -> ".join([*loop, recipient]),
                        {"loop": [*loop, recipient], "requests": asks[-len(loop) :], "conversation_id": conv},
                    )
                )
        if len(chain) >= o.max_delegation_depth and not flagged:
            flagged = True
            out.append(
                self._chain_finding(
                    event,
                    "delegation_depth",
                    o.depth_severity,
                    0.6,
                    f"delegation chain of {len(chain)} agents in conversation {conv}: " + " -> ".join(chain),
                    {"chain": [*chain, recipient], "requests": asks, "conversation_id": conv},
                )
            )
        if flagged and conv not in st["flagged_convs"]:
            st["flagged_convs"] = [*st["flagged_convs"], conv][-32:]
        peer = st if recipient == sender else self._agent(ctx, recipient)
        deleg_in = dict(peer["deleg_in"])
        deleg_in[conv] = {"chain": chain[-16:], "asks": asks[-16:]}
        if flagged:
            peer["flagged_convs"] = [*[c for c in peer["flagged_convs"] if c != conv], conv][-32:]
        peer["deleg_in"] = dict(list(deleg_in.items())[-32:])
        if peer is not st:
            ctx.state.set(AGENT_NS, recipient, peer)
        return len(chain), out

    def _chain_finding(
        self,
        event: MessageEvent,
        rule: str,
        severity: SeverityName,
        confidence: float,
        summary: str,
        ev: dict[str, Any],
    ) -> Finding:
        return Finding.make(
            detector=self.name,
            rule=rule,
            event=event,
            severity=severity,
            confidence=confidence,
            summary=summary,
            evidence={"sender": event.agent_id, "recipient": event.payload.to_agent, **ev},
            tags=["ASI03", "ASI07", "ASI08", "LLM06:2025"],
        )

    def _relay(
        self, event: MessageEvent, st: dict[str, Any], best: dict[str, Any], score: float, now: float
    ) -> Finding | None:
        o = self.options
        recipient = event.payload.to_agent
        relays = [r for r in st["relays"] if now - r[0] <= o.relay_window_s]
        relays.append([now, best["eid"], recipient, str(event.event_id)])
        st["relays"] = relays[-64:]
        same = [r for r in relays if r[1] == best["eid"]]
        peers = sorted({r[2] for r in same})
        if len(peers) < o.relay_min_new_peers or best["eid"] in st["flagged_items"]:
            return None
        st["flagged_items"] = [*st["flagged_items"], best["eid"]][-32:]
        earlier = [r[3] for r in same if r[3] != str(event.event_id)]
        source = best.get("src", "agent")
        return Finding.make(
            detector=self.name,
            rule="relay_to_new_peers",
            event=event,
            severity=o.relay_severity,
            confidence=round(min(0.5 + score / 2, 0.95), 3),
            summary=f"{event.agent_id} relayed content received from {best.get('from') or source} "
            f"to {len(peers)} peers it never messaged before",
            evidence={
                "sender": event.agent_id,
                "new_peers": peers,
                "similarity": round(score, 3),
                "received_event_id": best["eid"],
                "received_from": best.get("from", ""),
                "received_source": source,
                "relay_event_ids": [*earlier, str(event.event_id)],
                "snippet": event.payload.content[:200],
            },
            tags=[*_TAGS, "AML.T0051.001"],
            extra_event_ids=[*earlier, best["eid"]],
        )

    def _chain_signals(
        self,
        st: dict[str, Any],
        best: dict[str, Any],
        copies: dict[str, int],
        receipt: dict[str, Any],
        recipient: str,
        new_peer: bool,
        now: float,
    ) -> None:
        """Signs of infection this hop adds to the ones the content brought along (``receipt["sig"]``): a hop
        off the learned graph; the forwarder spreading the content to ``chain_fanout`` peers or more, and to
        more peers than it received it from (a reviewer serving two pipelines passes each copy on once)."""
        o = self.options
        signals = set(best.get("sig", []))
        if new_peer and st["n"] >= o.chain_warmup_messages:
            signals.add("new_peer")
        spread = [x for x in st.get("spread", []) if now - x[0] <= o.relay_window_s]
        spread.append([now, best["eid"], recipient])
        st["spread"] = spread[-64:]
        recipients = {x[2] for x in spread if x[1] in copies}
        if len(recipients) >= o.chain_fanout and len(recipients) > sum(copies.values()):
            signals.add("fan_out")
        receipt["sig"] = sorted(signals)
        if "inj" in best:
            receipt["inj"] = best["inj"]  # near-identical content: the previous hop's scan holds

    def _instructions_in(self, text: str) -> list[str]:
        """Names of the pack's injection rules that match ``text`` (normalised), for chain hops only."""
        if not len(self.instructions):
            return []
        nt = normalize(text[: self.options.max_chars])
        return sorted({m.rule.rule for m in self.instructions.match(nt.text, kind="message")})[:5]

    def _chain(
        self, event: MessageEvent, st: dict[str, Any], best: dict[str, Any], fwd: list[str], receipt: dict[str, Any]
    ) -> Finding | None:
        """``relay_chain``: the same content passed on by ``chain_min_forwarders`` agents in a row, from
        untrusted input, with a sign of infection (unless ``chain_require_signal`` is off)."""
        o = self.options
        forwarders = list(dict.fromkeys(fwd))
        if len(forwarders) < o.chain_min_forwarders or not receipt["u"]:
            return None
        key = f"chain:{best['eid']}"
        if key in st["flagged_items"] or best.get("chain_flagged"):
            return None
        if "inj" not in receipt:
            receipt["inj"] = self._instructions_in(event.payload.content)
        signals = [*(["instructions"] if receipt["inj"] else []), *receipt.get("sig", [])]
        if o.chain_require_signal and not signals:
            return None
        st["flagged_items"] = [*st["flagged_items"], key][-32:]
        receipt["chain_flagged"] = True  # one finding per chain: the next hops do not repeat it
        agents = [*forwarders, event.payload.to_agent]
        return Finding.make(
            detector=self.name,
            rule="relay_chain",
            event=event,
            severity=o.chain_severity,
            confidence=0.9 if receipt["inj"] else 0.7,
            summary=f"content from {receipt['origin'] or 'untrusted input'} passed on agent to agent: "
            + " -> ".join(agents)
            + f" ({', '.join(signals) or 'no sign of infection'})",
            evidence={
                "sender": event.agent_id,
                "agents": agents,
                "origin": receipt["origin"],
                "signals": signals,
                "instruction_rules": receipt["inj"],
                "received_event_id": best["eid"],
                "snippet": event.payload.content[:200],
            },
            tags=[*_TAGS, "AML.T0051.001"],
            extra_event_ids=[best["eid"]],
        )

    def _fanout(self, event: MessageEvent, st: dict[str, Any], now: float) -> Finding | None:
        o = self.options
        if st["n"] < o.fanout_warmup_messages:
            return None
        recent = [p for p in st["new_peers"] if now - p[0] <= o.fanout_window_s]
        recent.append([now, event.payload.to_agent])
        st["new_peers"] = recent[-(o.fanout_threshold * 4) :]
        peers = sorted({p[1] for p in recent})
        if len(peers) < o.fanout_threshold or now < st["fanout_quiet_until"]:
            return None
        st["fanout_quiet_until"] = now + o.fanout_window_s
        return Finding.make(
            detector=self.name,
            rule="new_peer_fanout",
            event=event,
            severity=o.fanout_severity,
            confidence=0.5,
            summary=f"{event.agent_id} contacted {len(peers)} new peers in {o.fanout_window_s:g}s",
            evidence={"sender": event.agent_id, "new_peers": peers, "window_s": o.fanout_window_s},
            tags=_TAGS,
        )


def _instruction_rules(config: DetectConfig, rules: list[RuleSpec] | None) -> RuleSet:
    """The pack's ``injection`` rules: what makes relayed content instructions rather than a document."""
    try:
        return rules_for(config, lambda r: r.detector == "injection", rules)
    except Exception:  # no readable pack: chains are judged on the graph and fan-out signals alone
        log.warning("coordination_rules_unavailable", detectors_dir=str(config.detectors_dir))
        return RuleSet([])


def _origin(event: AgentEvent) -> dict[str, Any]:
    p: Any = event.payload
    if event.kind == "tool_result":
        return {"from": p.tool, "src": "tool"}
    return {"from": p.origin, "src": p.source}
