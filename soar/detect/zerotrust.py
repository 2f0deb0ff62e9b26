"""``ZeroTrustDetector``: per-call policy checks on what agents do with tools, data and credentials.

* ``scope_violation`` (high): a tool call outside the scopes of the task token it names (``credential_id``,
  looked up through the directory when it knows credentials), or, without one, outside the tools the agent
  was enrolled with.
* ``credential_misuse`` (critical): a credential used by an agent it was not issued to: the directory's
  record when it has one, else the first agent seen using it (learned binding).
* ``toxic_flow`` (high): within one task, a sensitive read (``sensitive_tools``) followed by a send to an
  external destination that is neither internal (``internal_domains``) nor a correspondent of the task
  (the sender of its mail, an address the user named).
* ``secret_leak`` (high): a secret in an output or in a tool call's arguments, found with the plugins of the
  maintained ``detect-secrets`` library (run in-process on strings; the entropy and public-IP plugins are left
  out: hashes, ids and addresses are everyday content).
* ``pii_leak`` (medium): a payment card number (Luhn-checked) or an IBAN (mod-97-checked) sent to an external
  destination.

Credentials are looked up with ``ctx.agents.credential(credential_id)`` when the directory has that method
(returning a :class:`CredentialGrant`). The worker's ``KeyDirectory`` has it: it loads the credentials soar
issued from the store (``identity_credential``) at start, adds newly issued ones on every refresh, and looks
up any credential id a batch names that the snapshot lacks before the batch is detected, so the issued owner
(not the first agent seen using a credential) is what ``credential_misuse`` compares with. A directory
without credentials (``StaticDirectory``) falls back to enrolled tools and learned bindings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from fnmatch import translate
from typing import Any, ClassVar
from urllib.parse import urlsplit

import re2
import structlog
from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.plugins.keyword import DENYLIST_REGEX
from pydantic import BaseModel, ConfigDict, Field

from soar.detect.base import CredentialGrant, DetectConfig, DetectContext
from soar.detect.rules import SeverityName
from soar.identity.scopes import tool_allowed
from soar.telemetry.events import AgentEvent
from soar.telemetry.findings import Finding, Severity

log = structlog.get_logger(__name__)

CRED_NS = "zt.credential"
TASK_NS = "zt.task"
_EMAIL = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
# cost gates in front of the library (not detection): the keyword plugin only where its own denylist occurs,
# the token plugins only where there is a token-like run or a PEM header. Both gates run in RE2 (one DFA pass:
# ~4 us per KB, against ~100 us for Python's re on the case-insensitive 18-way alternation). RE2's case folding
# matches every character Python's re.IGNORECASE matches to a letter of the denylist except dotless i and dotted
# capital I (checked over every code point, tests/detect/test_zerotrust.py): text holding those, or that RE2
# cannot take (lone surrogates), goes through Python's re, so a gate never says no where re would say yes.
_KEYWORD_GATE = re.compile(DENYLIST_REGEX, re.IGNORECASE)
_KEYWORD_GATE_RE2 = re2.compile("(?i)" + DENYLIST_REGEX)
_RE_ONLY_FOLDS = ("\u0130", "\u0131")  # İ, ı: re.IGNORECASE matches them to i, RE2 does not
_TOKEN_GATE_RE = re.compile(r"[A-Za-z0-9_+/=-]{16,}|BEGIN")
_TOKEN_GATE = re2.compile(_TOKEN_GATE_RE.pattern)
_SKIPPED_PLUGINS = frozenset({"Base64HighEntropyString", "HexHighEntropyString", "IPPublicDetector"})


class ZeroTrustOptions(BaseModel):
    """Tuning for ``ZeroTrustDetector`` (``DetectConfig.options["zerotrust"]``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sensitive_tools: list[str] = Field(
        default=["crm.lookup", "crm.export", "ledger.query", "invoice.read", "hr.*", "db.query", "vault.*",
                 "secrets.*", "files.read_private"],
        description="globs of tools whose results are sensitive data",
    )  # fmt: skip
    outbound_tools: list[str] = Field(
        default=["email.send", "http.post", "http.request", "webhook.*", "upload.*", "sms.send", "slack.post",
                 "ftp.*", "share.*"],
        description="globs of tools that send data out",
    )  # fmt: skip
    destination_keys: list[str] = Field(
        default=["to", "cc", "bcc", "recipient", "recipients", "url", "endpoint", "destination", "address", "host"]
    )
    internal_domains: list[str] = Field(default=["ourcorp.example", "*.ourcorp.example"])
    max_tasks: int = Field(default=64, ge=1, description="open tasks remembered per agent")
    max_scan_chars: int = Field(default=8192, ge=256, description="text scanned for secrets per event")
    scope_severity: SeverityName = Severity.HIGH
    credential_severity: SeverityName = Severity.CRITICAL
    toxic_severity: SeverityName = Severity.HIGH
    secret_severity: SeverityName = Severity.HIGH
    pii_severity: SeverityName = Severity.MEDIUM


def _plugins() -> list[Any]:
    return [c() for c in get_mapping_from_secret_type_to_class().values() if c.__name__ not in _SKIPPED_PLUGINS]


def find_secrets(text: str, plugins: Sequence[Any]) -> list[tuple[str, str]]:
    """(secret type, redacted value) of every secret the detect-secrets plugins find in ``text``."""
    keyword, token = _gates(text)
    if not (keyword or token):
        return []
    found: list[tuple[str, str]] = []
    for p in plugins:
        if type(p).__name__ == "KeywordDetector" and not keyword:
            continue
        if type(p).__name__ != "KeywordDetector" and not token:
            continue
        for value in p.analyze_string(text):
            found.append((p.secret_type, _redact(value)))
    return sorted(set(found))


def _gates(text: str) -> tuple[bool, bool]:
    """(the keyword plugin may match, a token plugin may match): never False where the library could find one."""
    try:
        keyword = _KEYWORD_GATE_RE2.search(text) is not None
        token = _TOKEN_GATE.search(text) is not None
    except UnicodeError:  # RE2 takes UTF-8: a lone surrogate cannot be encoded
        return _KEYWORD_GATE.search(text) is not None, _TOKEN_GATE_RE.search(text) is not None
    if not keyword and any(c in text for c in _RE_ONLY_FOLDS):
        keyword = _KEYWORD_GATE.search(text) is not None
    return keyword, token


def _glob_regex(globs: Iterable[str]) -> re.Pattern[str]:
    """One regex matching what ``any(fnmatchcase(s, g) for g in globs)`` matches (fnmatch's own translation)."""
    parts = [translate(g) for g in globs]
    return re.compile("|".join(parts) if parts else "(?!)")


def _redact(value: str) -> str:
    return value[:4] + "…" if len(value) > 8 else "…"


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of a card number."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    """ISO 13616 mod-97 check of an IBAN (spaces ignored)."""
    s = iban.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    n = "".join(str(int(c, 36)) for c in s[4:] + s[:4])
    return int(n) % 97 == 1


def find_pii(text: str) -> list[tuple[str, str]]:
    """(kind, redacted value) of checksummed card numbers and IBANs in ``text``."""
    out: list[tuple[str, str]] = []
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            out.append(("payment_card", "…" + digits[-4:]))
    for m in _IBAN.finditer(text):
        if iban_ok(m.group()):
            out.append(("iban", m.group()[:4] + "…"))
    return sorted(set(out))


def _strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """(key, string) leaves of a JSON value, keys kept so ``password: x`` style arguments are seen."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, str(k))
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v, key)
    elif value is not None:
        yield key, str(value)


def _domain(destination: str) -> str:
    d = destination.strip().lower()
    m = _EMAIL.search(d) if "@" in d else None
    if m:
        return m.group(1)
    if "://" in d:
        try:
            return (urlsplit(d).hostname or "").lower()
        except ValueError:  # "https://evil.example]/x", "https://[evil": urlsplit refuses the authority
            return _lenient_host(d.split("://", 1)[1])
    return ""


def _lenient_host(rest: str) -> str:
    """The host a malformed URL still names (after ``scheme://``), so a call to it is judged, not skipped: an
    exfiltration URL with a stray bracket must not hide the event from the toxic-flow and leak checks."""
    end = min((i for i in (rest.find(c) for c in "/?#\\ ") if i >= 0), default=len(rest))
    authority = rest[:end].rpartition("@")[2]
    host = authority.replace("[", "").split("]")[0]
    return (host.split(":")[0] if host.count(":") == 1 else host) or authority


class ZeroTrustDetector:
    """Scope violations, credential misuse, toxic flows, secrets and personal data leaving the fleet."""

    name: ClassVar[str] = "zerotrust"
    kinds: ClassVar[frozenset[str]] = frozenset({"tool_call", "credential_use", "output", "input"})

    def __init__(self, config: DetectConfig) -> None:
        self.options: ZeroTrustOptions = ZeroTrustOptions.model_validate(config.options.get(self.name, {}))
        self.plugins = _plugins()
        o = self.options
        self._sensitive = _glob_regex(o.sensitive_tools)
        self._outbound = _glob_regex(o.outbound_tools)
        self._internal = _glob_regex(o.internal_domains)

    def detect(self, events: Sequence[AgentEvent], ctx: DetectContext) -> list[Finding]:
        """Findings for a batch, in event order."""
        out: list[Finding] = []
        for event in events:
            try:
                if event.kind == "tool_call":
                    out.extend(self._tool_call(event, ctx))
                elif event.kind == "credential_use":
                    f = self._credential(event, ctx, event.payload.credential_id)  # type: ignore[union-attr]
                    if f is not None:
                        out.append(f)
                elif event.kind == "output":
                    out.extend(self._output(event, ctx))
                elif event.kind == "input":
                    self._input(event, ctx)
            except Exception:
                log.exception("detector_event_failed", detector=self.name, event_id=str(event.event_id))
        return out

    # --- helpers -----------------------------------------------------------------------------------------------

    def _finding(
        self, event: AgentEvent, rule: str, severity: SeverityName, conf: float, summary: str, **evidence: Any
    ) -> Finding:
        tags = {
            "scope_violation": ["ASI03", "LLM06:2025"],
            "credential_misuse": ["ASI03", "AML.T0012", "LLM06:2025"],
            "toxic_flow": ["ASI02", "LLM02:2025", "AML.T0086"],
            "secret_leak": ["LLM02:2025", "AML.T0057"],
            "pii_leak": ["LLM02:2025", "AML.T0057"],
        }[rule]
        return Finding.make(
            detector=self.name,
            rule=rule,
            event=event,
            severity=severity,
            confidence=conf,
            summary=summary,
            evidence={"kind": event.kind, **evidence},
            tags=tags,
        )

    def _grant(self, ctx: DetectContext, credential_id: str) -> CredentialGrant | None:
        lookup = getattr(ctx.agents, "credential", None)
        return lookup(credential_id) if lookup is not None else None

    def _task(self, ctx: DetectContext, event: AgentEvent) -> tuple[str, dict[str, Any]]:
        key = f"{event.agent_id}|{event.task_id}"
        return key, ctx.state.get(TASK_NS, key) or {"sensitive": None, "peers": [], "flagged": False}

    def _is_external(self, domain: str, task: dict[str, Any]) -> bool:
        if not domain:
            return False
        if self._internal.match(domain):
            return False
        return domain not in task["peers"]

    # --- rules -------------------------------------------------------------------------------------------------

    def _input(self, event: AgentEvent, ctx: DetectContext) -> None:
        """Correspondents of the task: the sender of its mail, addresses the user named."""
        p: Any = event.payload
        domains = set()
        if p.source == "email":
            domains.add(_domain(p.origin))
        if p.source == "user":
            text = p.content[: self.options.max_scan_chars]
            if "@" in text:  # every address has one: most content has none, and the regex is slow on prose
                domains.update(m.group(1).lower() for m in _EMAIL.finditer(text))
        domains.discard("")
        if not domains:
            return
        key, task = self._task(ctx, event)
        task["peers"] = sorted(set(task["peers"]) | domains)[-32:]
        ctx.state.set(TASK_NS, key, task)

    def _credential(self, event: AgentEvent, ctx: DetectContext, credential_id: str | None) -> Finding | None:
        if not credential_id:
            return None
        grant = self._grant(ctx, credential_id)
        owner = grant.agent_id if grant is not None else ctx.state.get(CRED_NS, credential_id)
        if owner is None:
            ctx.state.set(CRED_NS, credential_id, event.agent_id)
            return None
        if owner == event.agent_id:
            return None
        return self._finding(
            event,
            "credential_misuse",
            self.options.credential_severity,
            0.95 if grant is not None else 0.75,
            f"{event.agent_id} used credential {credential_id} issued to {owner}",
            credential_id=credential_id,
            issued_to=owner,
            known_from="directory" if grant is not None else "first use",
        )

    def _tool_call(self, event: AgentEvent, ctx: DetectContext) -> list[Finding]:
        o = self.options
        p: Any = event.payload
        out: list[Finding] = []
        misuse = self._credential(event, ctx, p.credential_id)
        if misuse is not None:
            out.append(misuse)
        scope = self._scope(event, ctx, p.tool, p.credential_id)
        if scope is not None:
            out.append(scope)
        key, task = self._task(ctx, event)
        changed = False
        if task["sensitive"] is None and self._sensitive.match(p.tool):
            task["sensitive"] = [p.tool, str(event.event_id)]
            changed = True
        outbound = self._outbound.match(p.tool) is not None
        destinations = [v for k, v in _strings(p.args) if k in o.destination_keys]
        external = sorted({d for d in map(_domain, destinations) if self._is_external(d, task)})
        if outbound and external and task["sensitive"] is not None and not task["flagged"]:
            task["flagged"] = True
            changed = True
            out.append(
                self._finding(
                    event,
                    "toxic_flow",
                    o.toxic_severity,
                    0.8,
                    f"{event.agent_id} read {task['sensitive'][0]} then sent data to {', '.join(external)} "
                    f"with {p.tool} in task {event.task_id or '(none)'}",
                    sensitive_tool=task["sensitive"][0],
                    sensitive_event_id=task["sensitive"][1],
                    sink=p.tool,
                    destinations=external,
                )
            )
        text = "\n".join(f"{k}: {v}" for k, v in _strings(p.args))[: o.max_scan_chars]
        out.extend(self._leaks(event, text, outbound and bool(external), p.tool))
        if changed:
            ctx.state.set(TASK_NS, key, task)
            self._bound_tasks(ctx, event.agent_id, key)
        return out

    def _scope(self, event: AgentEvent, ctx: DetectContext, tool: str, credential_id: str | None) -> Finding | None:
        grant = self._grant(ctx, credential_id) if credential_id else None
        if grant is not None and grant.agent_id == event.agent_id:
            if any(s.matches_tool(tool) for s in grant.scopes):
                return None
            allowed, basis = sorted({s.tool for s in grant.scopes}), f"task token {credential_id}"
        else:
            profile = ctx.agents.profile(event.agent_id)
            if profile is None or not profile.tools or tool_allowed(tool, sorted(profile.tools)):
                return None
            allowed, basis = sorted(profile.tools), "enrolled tools"
        return self._finding(
            event,
            "scope_violation",
            self.options.scope_severity,
            0.9,
            f"{event.agent_id} called {tool}, outside its {basis}",
            tool=tool,
            allowed=allowed,
            basis=basis,
            credential_id=credential_id,
        )

    def _output(self, event: AgentEvent, ctx: DetectContext) -> list[Finding]:
        p: Any = event.payload
        _, task = self._task(ctx, event)
        external = self._is_external(_domain(p.destination), task)
        return self._leaks(event, p.content[: self.options.max_scan_chars], external, "output")

    def _leaks(self, event: AgentEvent, text: str, external: bool, sink: str) -> list[Finding]:
        o = self.options
        out: list[Finding] = []
        secrets = find_secrets(text, self.plugins)
        if secrets:
            out.append(
                self._finding(
                    event,
                    "secret_leak",
                    o.secret_severity,
                    0.85,
                    f"{event.agent_id} put {', '.join(sorted({t for t, _ in secrets}))} in {sink}",
                    sink=sink,
                    secrets=[{"type": t, "value": v} for t, v in secrets],
                )
            )
        if external:
            pii = find_pii(text)
            if pii:
                out.append(
                    self._finding(
                        event,
                        "pii_leak",
                        o.pii_severity,
                        0.7,
                        f"{event.agent_id} sent {', '.join(sorted({k for k, _ in pii}))} to an external destination "
                        f"with {sink}",
                        sink=sink,
                        pii=[{"type": k, "value": v} for k, v in pii],
                    )
                )
        return out

    def _bound_tasks(self, ctx: DetectContext, agent_id: str, key: str) -> None:
        """Keep the last ``max_tasks`` task keys per agent; older task state is dropped."""
        keys: list[str] = list(ctx.state.get(TASK_NS, f"{agent_id}|*") or [])
        if key in keys:
            return
        keys.append(key)
        for old in keys[: -self.options.max_tasks]:
            ctx.state.set(TASK_NS, old, None)
        ctx.state.set(TASK_NS, f"{agent_id}|*", keys[-self.options.max_tasks :])
