"""Benign work of a simulated agent: mail, web research, tool calls, user memories, messages to usual peers.

Each behaviour is one short episode of events under its own task id. Agents only ever call the tools
they hold and only message their usual peers, so anything else in the telemetry is the attacks.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from soar.enforce.client import ToolDenied
from soar.sdk.client import AgentQuarantined, SoarAgent
from soar.sim import corpus
from soar.sim.tools import resource_action, tool_output

Say = Callable[[str], None]


@dataclass(frozen=True)
class FleetAgentSpec:
    """One simulated agent: id, role, the tools it holds and the peers it usually messages."""

    agent_id: str
    role: str
    tools: tuple[str, ...]
    peers: tuple[str, ...] = ()


DEFAULT_ROSTER: tuple[FleetAgentSpec, ...] = (
    FleetAgentSpec("mail-triage", "reads and sorts the shared inbox", ("email.read", "calendar.create", "search"),
                   ("report-writer",)),
    FleetAgentSpec("web-researcher", "fetches and summarises web pages", ("browser.fetch", "search"),
                   ("report-writer",)),
    FleetAgentSpec("crm-assistant", "answers questions about customer accounts", ("crm.lookup", "crm.notes",
                   "crm.update"), ("finance-ops",)),
    FleetAgentSpec("scheduler", "manages calendars and rooms", ("calendar.create", "calendar.list"),
                   ("mail-triage",)),
    FleetAgentSpec("finance-ops", "runs approved vendor payments", ("payments.transfer", "ledger.query",
                   "invoice.read"), ("report-writer",)),
    FleetAgentSpec("report-writer", "writes the weekly report", ("docs.write", "search"), ("web-researcher",)),
)  # fmt: skip


@dataclass
class Actor:
    """A running simulated agent: its SDK client, spec, random stream and counters."""

    spec: FleetAgentSpec
    agent: SoarAgent
    rng: random.Random
    credential_id: str | None = None
    tool_server_url: str | None = None  # enforcement point for the agent's tool calls (None: it runs them itself)
    episodes: int = 0
    blocked: int = 0
    denied: int = 0  # tool calls the enforcement point refused
    errors: list[str] = field(default_factory=list)

    def next_task(self) -> str:
        """A fresh task id for the next episode."""
        self.episodes += 1
        return f"{self.spec.agent_id}-task-{self.episodes:04d}"


def tool_args(actor: Actor, tool: str) -> dict[str, Any]:
    """Arguments for one call of ``tool`` (random, from the agent's stream)."""
    rng = actor.rng
    if tool == "email.read":
        return {"folder": "inbox", "unread": True}
    if tool == "browser.fetch":
        return {"url": rng.choice(corpus.ARTICLES)[0]}
    if tool == "search":
        return {"q": rng.choice(corpus.SEARCH_QUERIES)}
    if tool == "calendar.create":
        return {"title": rng.choice(["Standup", "1:1 with Bob", "Acme visit", "Budget review"]),
                "start": f"2024-05-{rng.randint(10, 28)}T{rng.randint(9, 16)}:00:00"}  # fmt: skip
    if tool == "calendar.list":
        return {"day": rng.choice(["today", "tomorrow", "monday"])}
    if tool in ("crm.lookup", "crm.notes", "crm.update"):
        account = rng.choice(corpus.CRM_ACCOUNTS)[0]
        if tool == "crm.update":
            return {"account": account, "field": "last_contact", "value": "today"}
        return {"account": account}
    if tool == "payments.transfer":
        vendor, iban = rng.choice(corpus.VENDORS)
        return {"vendor": vendor, "iban": iban, "amount": rng.choice([180, 420, 1200, 2350]), "currency": "EUR"}
    if tool == "ledger.query":
        return {"period": "2024-05", "category": "travel"}
    if tool == "invoice.read":
        return {"invoice": "INV-2291"}
    if tool == "docs.write":
        return {"doc": "weekly-report", "section": rng.choice(["summary", "risks", "next steps"])}
    return {}


async def use_tool(actor: Actor, tool: str) -> None:
    """Call one of the agent's tools and get its result (plus follow-up events for some tools).

    With a tool server (``actor.tool_server_url``) and a token the call goes through the enforcement point,
    which asks soar's authorize first; a refusal counts in ``actor.denied`` and the episode stops there.
    Without one the agent runs the tool itself and reports the call.
    """
    agent = actor.agent
    args = tool_args(actor, tool)
    if actor.tool_server_url and actor.credential_id:
        if actor.credential_id not in agent.tokens:  # revoked by soar: no token, no call
            actor.denied += 1
            return
        resource, action = resource_action(tool, args)
        try:
            await agent.call_tool(
                actor.tool_server_url, tool, resource, action, args, credential_id=actor.credential_id
            )
        except ToolDenied:
            actor.denied += 1
            return
    else:
        call = await agent.tool_call(tool, args, credential_id=actor.credential_id)
        await agent.tool_result(tool, call, tool_output(tool, args))
    if tool == "email.read":
        sender, subject, body = actor.rng.choice(corpus.MAILS)
        await agent.input("email", f"From: {sender}\nSubject: {subject}\n\n{body}", origin=f"mailbox:inbox/{sender}")
        await agent.output(f"Triaged '{subject}' from {sender}.", destination="user")
    elif tool == "browser.fetch":
        await agent.output(f"Summary of {args['url']}: the article covers the main points in brief.", "user")
    elif tool == "payments.transfer":
        # without a soar-issued token (no API in the run) the agent uses its platform's static API key
        cred = actor.credential_id or f"static-{actor.spec.agent_id}-api-key"
        await agent.credential_use(cred, "payments-api/transfers", "create")


async def user_request(actor: Actor) -> None:
    """The user asks something; the agent answers."""
    asks = corpus.USER_REQUESTS.get(actor.spec.agent_id, ("Give me a status update.",))
    await actor.agent.input("user", actor.rng.choice(asks), origin="chat")
    await actor.agent.output("Done. Let me know if you need anything else.", destination="user")


async def remember(actor: Actor) -> None:
    """Store or recall an ordinary user fact (never the attack's target key)."""
    facts = [f for f in corpus.MEMORY_FACTS.get(actor.spec.agent_id, ()) if f[0] != "invoice_policy"]
    if not facts:
        return
    key, value = actor.rng.choice(facts)
    if actor.rng.random() < 0.5:
        await actor.agent.memory_write("long_term", key, value, "user", origin="chat")
    else:
        await actor.agent.memory_read("long_term", key)


async def message_peer(actor: Actor, actors: dict[str, Actor]) -> None:
    """Message one of the usual peers; the peer takes it in as agent input."""
    if not actor.spec.peers:
        return
    peer = actor.rng.choice(actor.spec.peers)
    text = actor.rng.choice(corpus.PEER_MESSAGES)
    await actor.agent.message(peer, text, conversation_id=f"{actor.spec.agent_id}->{peer}")
    target = actors.get(peer)
    if target is not None and not target.agent.quarantined:
        try:
            await target.agent.input("agent", text, origin=actor.spec.agent_id)
        except AgentQuarantined:
            target.blocked += 1


async def episode(actor: Actor, actors: dict[str, Actor]) -> None:
    """One benign episode, chosen at random for the agent's role."""
    choices: list[tuple[float, Callable[[], Awaitable[None]]]] = [
        (0.15, lambda: user_request(actor)),
        (0.12, lambda: remember(actor)),
        (0.13, lambda: message_peer(actor, actors)),
    ]
    share = 0.6 / max(1, len(actor.spec.tools))
    for tool in actor.spec.tools:
        choices.append((share, lambda t=tool: use_tool(actor, t)))  # type: ignore[misc]
    if actor.episodes < len(actor.spec.tools):  # warm-up: each tool once, so every event kind shows up early
        tool = actor.spec.tools[actor.episodes]
        run: Callable[[], Awaitable[None]] = lambda: use_tool(actor, tool)  # noqa: E731
    else:
        _, run = actor.rng.choices(choices, weights=[w for w, _ in choices], k=1)[0]
    with actor.agent.task(actor.next_task()):
        await run()
