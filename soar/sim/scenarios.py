"""``soar simulate``: an offline, seeded generator of fleet telemetry with labelled attack scenarios.

The output is JSONL in time order. Three kinds of row:

* ``{"fleet": {"seed", "agents": [{agent_id, role, tools, peers}]}}`` first: the enrolled roster;
* ``{"credential": {credential_id, agent_id, task_id, scopes}}`` when soar would issue a task token;
* telemetry events (the real schema, unsigned) with one extra key, ``scenario``: ``"benign"`` or the name of
  the attack the event belongs to (an attacking agent's ordinary work stays ``"benign"``).

Benign work is varied on purpose, so that false alarms mean something: mail triage with replies to the
sender, web research quoted verbatim to a usual peer, CRM look-ups mailed to the address the user named,
vendor payments with IBANs, internal dashboards fed from database queries, delegation of tasks and of tools
the sender holds, sub-delegation two deep, occasional first contacts with other agents, bulk updates (a burst
of tool calls), the weekly report's broadcast to all usual peers, a fleet-wide status round at the same
second, heartbeats and memory use, and forwarding pipelines (an intake agent passes an inbound mail or a
fetched article on, near-verbatim, to a reviewer, who passes it on to the next stage: ETL and review chains
that look like a relay of untrusted content, minus the instructions). Attacks are placed in the second half
of the run (after the baseline's warm-up), one instance per scenario: :data:`SCENARIOS`.
"""

from __future__ import annotations

import itertools
import json
import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from soar.sim import corpus
from soar.sim.attack_scenarios import ATTACKS

SCENARIOS: tuple[str, ...] = tuple(ATTACKS)
EPOCH = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Role:
    """A kind of agent: its tools and what its episodes do."""

    name: str
    tools: tuple[str, ...]


ROLES: tuple[Role, ...] = (
    Role("mail-triage", ("email.read", "email.send", "calendar.create", "search")),
    Role("web-researcher", ("browser.fetch", "search")),
    Role("crm-assistant", ("crm.lookup", "crm.notes", "crm.update", "email.send")),
    Role("scheduler", ("calendar.create", "calendar.list")),
    Role("finance-ops", ("payments.transfer", "ledger.query", "invoice.read", "email.send")),
    Role("report-writer", ("docs.write", "search")),
    Role("data-analyst", ("db.query", "docs.write", "http.post")),
    Role("support-agent", ("tickets.read", "tickets.reply", "kb.search")),
)

CONTACTS: tuple[str, ...] = (
    "carla.rossi@partner-logistics.example",
    "ops@globex-corp.example",
    "accounts@initech.example",
    "billing@officesupplies.example",
    "team@cloudhost-gmbh.example",
)
INTERNAL_ENDPOINTS: tuple[str, ...] = ("https://dash.ourcorp.example/api/metrics", "https://bi.ourcorp.example/ingest")
TOPICS: tuple[str, ...] = (
    "the Acme renewal",
    "the June delivery schedule",
    "Q3 revenue",
    "the vendor payment run",
    "the board deck",
    "customer churn",
    "the travel budget",
    "the support backlog",
    "the logistics outlook",
    "interest rates",
)
SENTENCES: tuple[str, ...] = (
    "I pulled the latest figures on {t} and the trend is roughly flat against last month.",
    "Could you take a look at {t} before the meeting on {d}?",
    "The numbers for {t} are in the shared folder, version {n}.",
    "We agreed to revisit {t} once finance confirms the budget, probably by {d}.",
    "Three open questions remain on {t}; I listed them at the end of the draft.",
    "Nothing urgent on {t}, but the owner changed to {p} this week.",
    "Please double-check the assumptions on {t}; the source data was updated on {d}.",
    "My summary of {t}: steady progress, two risks, one decision needed from {p}.",
)
PEOPLE: tuple[str, ...] = ("Alice", "Bob", "Carla", "Dan", "Erin", "Farid", "Grace")
PIPELINE_REVIEWERS: tuple[str, ...] = ("crm-assistant", "finance-ops", "support-agent", "data-analyst")
PIPELINE_SINKS: tuple[str, ...] = ("report-writer", "data-analyst", "scheduler")
PIPELINE_HANDOVERS: tuple[str, ...] = (
    "Reviewed, nothing to change, passing it on",
    "Checked against the tracker, forwarding for filing",
    "Approved for the weekly report, handing over",
    "Logged and archived, for your records",
)


@dataclass
class Agent:
    """A simulated agent: role, id, tools and usual peers."""

    agent_id: str
    role: Role
    peers: list[str] = field(default_factory=list)
    tasks: int = 0
    credential: str = ""


class Writer:
    """Collects rows with timestamps; ``rows()`` yields them in time order."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.items: list[tuple[float, int, dict[str, Any]]] = []
        self.seq = 0
        self.events = 0

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def add(self, ts: float, row: dict[str, Any]) -> None:
        self.seq += 1
        self.items.append((ts, self.seq, row))

    def event(
        self, ts: float, agent: str, kind: str, payload: dict[str, Any], task: str, scenario: str = "benign"
    ) -> str:
        eid = self.uid()
        self.events += 1
        self.add(
            ts,
            {
                "event_id": eid,
                "ts": (EPOCH + timedelta(seconds=ts)).isoformat(),
                "agent_id": agent,
                "task_id": task,
                "session_id": f"{agent}-s{int(ts // 3600)}",
                "kind": kind,
                "payload": payload,
                "scenario": scenario,
            },
        )
        return eid

    def rows(self) -> list[dict[str, Any]]:
        return [r for _, _, r in sorted(self.items, key=lambda x: (x[0], x[1]))]


class Simulation:
    """One seeded run: the roster, benign episodes and attacks."""

    def __init__(self, seed: int, agents: int) -> None:
        if agents < 8:
            raise ValueError("a fleet needs at least 8 agents (one per role)")
        self.seed = seed
        self.rng = random.Random(seed)
        self.w = Writer(self.rng)
        self.agents: list[Agent] = []
        for i in range(agents):
            role = ROLES[i % len(ROLES)]
            self.agents.append(Agent(f"{role.name}-{i // len(ROLES) + 1}", role))
        ids = [a.agent_id for a in self.agents]
        for a in self.agents:
            others = [x for x in ids if x != a.agent_id]
            a.peers = self.rng.sample(others, k=min(len(others), self.rng.randint(2, 4)))
        self.by_id = {a.agent_id: a for a in self.agents}
        self.conv = 0
        self.pipelines = self._pipelines()

    def _pipelines(self) -> dict[str, list[Agent]]:
        """Intake agent -> the stages downstream of it (2 or 3); each stage is a usual peer of the one before."""
        r = self.rng
        intakes = [a for a in self.agents if a.role.name in ("mail-triage", "web-researcher")]
        chosen = [a for a in intakes if r.random() < 0.6] or [r.choice(intakes)]
        out: dict[str, list[Agent]] = {}
        for a in chosen:
            reviewers = [x for x in self.agents if x.role.name in PIPELINE_REVIEWERS]
            reviewer = r.choice(reviewers)
            sinks = [x for x in self.agents if x.role.name in PIPELINE_SINKS and x is not reviewer]
            stages = [reviewer, r.choice(sinks)]
            if r.random() < 0.5:
                stages.append(r.choice([x for x in self.agents if x not in (a, *stages)]))
            for prev, nxt in itertools.pairwise([a, *stages]):
                if nxt.agent_id not in prev.peers:
                    prev.peers.append(nxt.agent_id)
            out[a.agent_id] = stages
        return out

    # --- helpers -----------------------------------------------------------------------------------------------

    def text(self, sentences: int = 2) -> str:
        r = self.rng
        return " ".join(
            r.choice(SENTENCES).format(
                t=r.choice(TOPICS),
                d=f"{r.randint(1, 28)} {r.choice(['May', 'June', 'July'])}",
                n=r.randint(2, 9),
                p=r.choice(PEOPLE),
            )
            for _ in range(sentences)
        )

    def task(self, a: Agent, ts: float, tools: Iterable[str], scenario: str = "benign") -> str:
        """A new task id and its task-scoped credential (scopes: the tools the task will use)."""
        a.tasks += 1
        task = f"{a.agent_id}-t{a.tasks:05d}"
        a.credential = f"cred-{a.agent_id}-{a.tasks:05d}"
        scopes = [{"tool": t, "resources": ["*"], "actions": ["*"]} for t in sorted(set(tools))]
        self.w.add(
            ts - 0.001,
            {"credential": {"credential_id": a.credential, "agent_id": a.agent_id, "task_id": task, "scopes": scopes}},
        )
        return task

    def call(
        self, ts: float, a: Agent, task: str, tool: str, args: dict[str, Any], result: str, scenario: str = "benign"
    ) -> float:
        cid = f"c{self.rng.getrandbits(40):x}"
        self.w.event(
            ts,
            a.agent_id,
            "tool_call",
            {"tool": tool, "call_id": cid, "args": args, "credential_id": a.credential},
            task,
            scenario,
        )
        ts += self.rng.uniform(0.1, 1.5)
        self.w.event(ts, a.agent_id, "tool_result", {"tool": tool, "call_id": cid, "content": result}, task, scenario)
        return ts + self.rng.uniform(0.1, 1.0)

    def msg(
        self,
        ts: float,
        a: Agent,
        to: str,
        content: str,
        task: str,
        *,
        conv: str = "",
        delegation: dict[str, Any] | None = None,
        scenario: str = "benign",
    ) -> float:
        payload: dict[str, Any] = {"to_agent": to, "conversation_id": conv, "content": content}
        if delegation is not None:
            payload["delegation"] = delegation
        self.w.event(ts, a.agent_id, "message", payload, task, scenario)
        return ts + self.rng.uniform(0.2, 2.0)

    def new_conv(self) -> str:
        self.conv += 1
        return f"conv-{self.seed}-{self.conv:06d}"

    # --- benign episodes ---------------------------------------------------------------------------------------

    def episode(self, a: Agent, ts: float) -> None:
        """One unit of ordinary work for ``a`` starting at ``ts``."""
        r = self.rng
        kind = r.random()
        role = a.role.name
        if kind < 0.15:
            self.chat(a, ts)
        elif kind < 0.18:
            self.memory(a, ts)
        elif kind < 0.40 and a.agent_id in self.pipelines:
            self.pipeline(a, ts)
        elif role == "mail-triage":
            self.mail(a, ts)
        elif role == "web-researcher":
            self.research(a, ts)
        elif role == "crm-assistant":
            self.crm(a, ts)
        elif role == "finance-ops":
            self.finance(a, ts)
        elif role == "data-analyst":
            self.analyst(a, ts)
        elif role == "report-writer":
            self.report(a, ts)
        else:
            self.generic(a, ts)

    def chat(self, a: Agent, ts: float) -> None:
        """A message to a usual peer (rarely to anyone), often answered; sometimes a delegation."""
        r = self.rng
        task = self.task(a, ts, [])
        to = r.choice(a.peers) if r.random() > 0.03 else r.choice([x for x in self.agents if x is not a]).agent_id
        conv = self.new_conv()
        delegation = None
        if r.random() < 0.2:
            delegation = {
                "task": r.choice(["review-draft", "compile-section", "check-figures", "book-room"]),
                "args": {"due": f"2026-03-{r.randint(3, 28):02d}"},
            }
        elif r.random() < 0.1:
            shared = [t for t in a.role.tools if t in self.by_id[to].role.tools]
            if shared:
                delegation = {"tool": r.choice(shared), "args": {"note": "can you take this one"}}
        ts = self.msg(ts, a, to, self.text(r.randint(1, 3)), task, conv=conv, delegation=delegation)
        peer = self.by_id[to]
        if r.random() < 0.6:
            ptask = self.task(peer, ts, [])
            ts = self.msg(ts + r.uniform(1, 20), peer, a.agent_id, self.text(1), ptask, conv=conv)
        if delegation and "task" in delegation and r.random() < 0.3 and peer.peers:
            sub = r.choice([p for p in peer.peers if p != a.agent_id] or peer.peers)
            ptask = self.task(peer, ts, [])
            self.msg(
                ts + r.uniform(1, 10),
                peer,
                sub,
                self.text(1),
                ptask,
                conv=conv,
                delegation={"task": "subtask-" + delegation["task"], "args": {}},
            )

    def memory(self, a: Agent, ts: float) -> None:
        r = self.rng
        task = self.task(a, ts, [])
        key = r.choice(["tone", "working_hours", "report_format", "preferred_sources"])
        value = self.text(1)
        self.w.event(
            ts, a.agent_id, "input", {"source": "user", "origin": "chat", "content": f"Remember: {value}"}, task
        )
        self.w.event(
            ts + 1,
            a.agent_id,
            "memory_write",
            {"store": "long_term", "key": key, "value": value, "provenance": {"source": "user"}},
            task,
        )
        self.w.event(
            ts + r.uniform(5, 60),
            a.agent_id,
            "memory_read",
            {"store": "long_term", "key": key, "value_hash": f"{r.getrandbits(256):064x}"},
            task,
        )

    def mail(self, a: Agent, ts: float) -> None:
        r = self.rng
        sender, subject, body = r.choice(corpus.MAILS)
        reply = r.random() < 0.3
        task = self.task(a, ts, ["email.read", *(["email.send"] if reply else [])])
        ts = self.call(ts, a, task, "email.read", {"folder": "inbox"}, "1 new message")
        self.w.event(
            ts,
            a.agent_id,
            "input",
            {
                "source": "email",
                "origin": f"mailbox:inbox/{sender}",
                "content": f"From: {sender}\nSubject: {subject}\n\n{body} {self.text(1)}",
            },
            task,
        )
        ts += r.uniform(0.5, 3)
        self.w.event(
            ts, a.agent_id, "output", {"content": f"Triaged '{subject}' from {sender}.", "destination": "user"}, task
        )
        if reply:
            self.call(
                ts + 2, a, task, "email.send", {"to": sender, "subject": f"Re: {subject}", "body": self.text(1)}, "sent"
            )
        if r.random() < 0.15 and a.peers:
            self.msg(ts + 3, a, a.peers[0], f"FYI, from {sender}: {body}", task)

    def research(self, a: Agent, ts: float) -> None:
        r = self.rng
        task = self.task(a, ts, ["search", "browser.fetch"])
        self.w.event(
            ts,
            a.agent_id,
            "input",
            {"source": "user", "origin": "chat", "content": f"Find background on {r.choice(TOPICS)}."},
            task,
        )
        q = r.choice(corpus.SEARCH_QUERIES)
        ts = self.call(ts + 1, a, task, "search", {"q": q}, f"Top results for '{q}': overview, report, FAQ")
        url, page = r.choice(corpus.ARTICLES)
        ts = self.call(ts, a, task, "browser.fetch", {"url": url}, page)
        if a.peers:
            quote = page.split("<p>")[1].split("</p>")[0] if "<p>" in page else page
            body = f"Source {url} says: {quote}" if r.random() < 0.4 else self.text(2)
            self.msg(ts, a, r.choice(a.peers), body, task)

    def crm(self, a: Agent, ts: float) -> None:
        r = self.rng
        if r.random() < 0.08:  # bulk update: a legitimate burst of tool calls
            task = self.task(a, ts, ["crm.update"])
            for _ in range(r.randint(15, 40)):
                account, _ = r.choice(corpus.CRM_ACCOUNTS)
                ts = self.call(
                    ts, a, task, "crm.update", {"account": account, "field": "segment", "value": "B"}, "record updated"
                )
            return
        contact = r.choice(CONTACTS)
        mail = r.random() < 0.3
        task = self.task(a, ts, ["crm.lookup", *(["email.send"] if mail else [])])
        account, record = r.choice(corpus.CRM_ACCOUNTS)
        ask = f"Look up {account} and send a short status to {contact}." if mail else f"Look up {account}."
        self.w.event(ts, a.agent_id, "input", {"source": "user", "origin": "chat", "content": ask}, task)
        ts = self.call(ts + 1, a, task, "crm.lookup", {"account": account}, record)
        self.w.event(ts, a.agent_id, "output", {"content": record, "destination": "user"}, task)
        if mail:
            self.call(
                ts + 2, a, task, "email.send", {"to": contact, "subject": f"{account} status", "body": record}, "sent"
            )

    def finance(self, a: Agent, ts: float) -> None:
        r = self.rng
        vendor, iban = r.choice(corpus.VENDORS)
        contact = "billing@officesupplies.example"
        task = self.task(a, ts, ["invoice.read", "payments.transfer", "ledger.query", "email.send"])
        self.w.event(
            ts,
            a.agent_id,
            "input",
            {
                "source": "user",
                "origin": "chat",
                "content": f"Pay the approved invoice from {vendor} and send remittance to {contact}.",
            },
            task,
        )
        ts = self.call(
            ts + 1,
            a,
            task,
            "invoice.read",
            {"invoice": f"INV-{r.randint(2000, 2999)}"},
            f"invoice from {vendor}, {r.randint(100, 5000)} EUR, approved",
        )
        amount = r.choice([180, 420, 1200, 2350])
        ts = self.call(
            ts, a, task, "payments.transfer", {"vendor": vendor, "iban": iban, "amount": amount}, "transfer queued"
        )
        self.w.event(
            ts,
            a.agent_id,
            "credential_use",
            {"credential_id": a.credential, "resource": "payments-api/transfers", "action": "create"},
            task,
        )
        if r.random() < 0.5:
            self.call(
                ts + 1,
                a,
                task,
                "email.send",
                {"to": contact, "subject": "Remittance", "body": f"Paid {amount} EUR to {vendor}."},
                "sent",
            )

    def analyst(self, a: Agent, ts: float) -> None:
        r = self.rng
        task = self.task(a, ts, ["db.query", "http.post", "docs.write"])
        ts = self.call(
            ts,
            a,
            task,
            "db.query",
            {"sql": "select region, sum(revenue) from sales group by 1"},
            "EMEA 1.2M, AMER 2.3M, APAC 0.8M",
        )
        ts = self.call(
            ts, a, task, "http.post", {"url": r.choice(INTERNAL_ENDPOINTS), "body": "revenue by region"}, "200"
        )
        self.call(ts, a, task, "docs.write", {"doc": "revenue-notes", "text": self.text(1)}, "saved")

    def report(self, a: Agent, ts: float) -> None:
        r = self.rng
        task = self.task(a, ts, ["docs.write", "search"])
        if r.random() < 0.15:  # the weekly broadcast: every usual peer at once
            conv = self.new_conv()
            for p in a.peers:
                ts = self.msg(
                    ts,
                    a,
                    p,
                    "Weekly report: please send me your section by Thursday. " + self.text(1),
                    task,
                    conv=conv,
                    delegation={"task": "weekly-section", "args": {}},
                )
            return
        self.call(ts, a, task, "docs.write", {"doc": "weekly-report", "section": "summary"}, "saved")

    def generic(self, a: Agent, ts: float) -> None:
        r = self.rng
        tools = list(a.role.tools)
        picks = [r.choice(tools) for _ in range(r.randint(1, 3))]
        task = self.task(a, ts, picks)
        self.w.event(ts, a.agent_id, "input", {"source": "user", "origin": "chat", "content": self.text(1)}, task)
        for t in picks:
            ts = self.call(ts + 1, a, task, t, {"q": r.choice(TOPICS)}, self.text(1))
        self.w.event(ts, a.agent_id, "output", {"content": self.text(1), "destination": "user"}, task)

    def pipeline(self, a: Agent, ts: float) -> None:
        """One run of a forwarding pipeline: the intake takes in a mail or an article and hands it, near
        verbatim, down its stages (each in its own task, one conversation per run)."""
        r = self.rng
        conv = self.new_conv()
        if a.role.name == "mail-triage":
            sender, subject, body = r.choice(corpus.MAILS)
            task = self.task(a, ts, ["email.read"])
            ts = self.call(ts, a, task, "email.read", {"folder": "intake"}, "1 new message")
            item = f"From: {sender}\nSubject: {subject}\n\n{body} {self.text(2)}"
            self.w.event(
                ts,
                a.agent_id,
                "input",
                {"source": "email", "origin": f"mailbox:intake/{sender}", "content": item},
                task,
            )
            head = f"New intake, '{subject}' from {sender}, for review"
        else:
            url, page = r.choice(corpus.ARTICLES)
            task = self.task(a, ts, ["browser.fetch"])
            ts = self.call(ts, a, task, "browser.fetch", {"url": url}, page)
            item = page.split("<p>")[1].split("</p>")[0]
            head = f"Digest of {url} for review"
        ts = self.msg(
            ts + r.uniform(1, 5), a, self.pipelines[a.agent_id][0].agent_id, f"{head}: {item}", task, conv=conv
        )
        stages = self.pipelines[a.agent_id]
        for sender, to in itertools.pairwise(stages):
            stask = self.task(sender, ts, [])
            ts = self.msg(
                ts + r.uniform(5, 120), sender, to.agent_id, f"{r.choice(PIPELINE_HANDOVERS)}: {item}", stask, conv=conv
            )

    def status_round(self, ts: float) -> None:
        """Every agent reports to a usual peer within the same second (a scheduled, legitimate burst)."""
        for a in self.agents:
            task = self.task(a, ts, [])
            self.msg(ts + self.rng.uniform(0, 0.9), a, a.peers[0], "Status: " + self.text(1), task)

    # --- attacks -----------------------------------------------------------------------------------------------

    def pick(self, role: str | None = None, exclude: Iterable[str] = ()) -> Agent:
        pool = [a for a in self.agents if (role is None or a.role.name == role) and a.agent_id not in set(exclude)]
        return self.rng.choice(pool)

    def attack(self, name: str, ts: float) -> None:
        ATTACKS[name](self, ts)

    # --- the run -----------------------------------------------------------------------------------------------

    def run(self, events: int, scenarios: Iterable[str]) -> list[dict[str, Any]]:
        """Benign traffic of about ``events`` events, with one instance of each scenario in the second half."""
        r = self.rng
        chosen = list(scenarios)
        # each agent starts an episode every ~25 s on average; stop when the benign events are written
        next_at = {a.agent_id: r.uniform(0, 25) for a in self.agents}
        next_round, heartbeat, span = 1800.0, 0.0, 0.0
        while self.w.events < events:
            aid = min(next_at, key=next_at.__getitem__)
            ts = span = next_at[aid]
            if ts >= next_round:
                self.status_round(next_round)
                next_round += 1800
            if ts >= heartbeat:
                for a in self.agents:
                    self.w.event(heartbeat + r.uniform(0, 5), a.agent_id, "lifecycle", {"state": "heartbeat"}, "")
                heartbeat += 300
            self.episode(self.by_id[aid], ts)
            next_at[aid] = ts + r.expovariate(1 / 25)
        for i, name in enumerate(chosen):
            self.attack(name, span * (0.5 + 0.45 * i / max(len(chosen), 1)) + r.uniform(0, 30))
        fleet = {
            "seed": self.seed,
            "agents": [
                {"agent_id": a.agent_id, "role": a.role.name, "tools": list(a.role.tools), "peers": a.peers}
                for a in self.agents
            ],
        }
        return [{"fleet": fleet}, *self.w.rows()]


def simulate(seed: int, agents: int, events: int, scenarios: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The rows of one simulated run (see the module docstring)."""
    chosen = list(SCENARIOS if scenarios is None else scenarios)
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    return Simulation(seed, agents).run(events, chosen)


def write_jsonl(rows: Iterable[dict[str, Any]], path: Path) -> int:
    """Write rows as JSONL; returns how many."""
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, separators=(",", ":")) + "\n")
            n += 1
    return n


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) of a JSONL file; a line that is not a JSON object raises ValueError with its number."""
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{n}: not JSON ({e.msg})") from e
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{n}: expected a JSON object")
            yield n, row
