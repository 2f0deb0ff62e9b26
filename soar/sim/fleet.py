"""The simulated agent fleet the demo runs: benign traffic from six agents plus three scripted attacks.

Every agent is a real :class:`~soar.sdk.client.SoarAgent` with its own Ed25519 key (derived from the
seed, so a re-run registers the same keys) and its own ``SQLiteMemoryStore``; it signs its telemetry
and obeys control commands exactly as a production agent would::

    cfg = FleetConfig(bootstrap=broker.bootstrap, topics=topics, register=enroll, data_dir=tmp)
    report = await run_fleet(cfg)
    for attack in report.attacks:
        print(attack.attack, attack.time_to_contain_s, attack.memory_restored, attack.exfil_blocked)

Registration: before any event is produced, ``cfg.register(agent_id, public_key_b64, tools)`` is
awaited for each agent (or call :meth:`Fleet.agent_keys` / :meth:`Fleet.agent_tools` yourself).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from soar.sdk.client import AgentQuarantined, AppliedCommand, SoarAgent
from soar.sdk.enroll import enroll
from soar.sdk.memory import SQLiteMemoryStore
from soar.sim import corpus
from soar.sim.attacks import ATTACK_FUNCS, VICTIMS, AttackContext
from soar.sim.behaviours import DEFAULT_ROSTER, Actor, FleetAgentSpec, episode
from soar.sim.reports import ATTACKS, AgentReport, AttackName, AttackReport, FleetReport, ReceivedCommand
from soar.topics import TopicMap

log = structlog.get_logger(__name__)

Register = Callable[[str, str, list[str]], Awaitable[None]]
EnrollmentToken = Callable[[str, list[str]], Awaitable[str]]


@dataclass
class FleetConfig:
    """How to run the fleet; times are seconds."""

    bootstrap: str
    topics: TopicMap
    api_url: str | None = None
    agents: tuple[FleetAgentSpec, ...] = DEFAULT_ROSTER
    duration_s: float = 20.0  # benign traffic at least this long (attacks and settle_s may extend the run)
    rate_per_agent: float = 2.0  # benign episodes per second per agent (each is 1-4 events)
    heartbeat_s: float = 1.0
    seed: int = 7
    attacks: tuple[AttackName, ...] = ATTACKS
    attack_start_s: float = 5.0  # first attack after this much benign warm-up
    attack_gap_s: float = 3.0  # between attack starts
    exfil_delay_s: float = 1.5  # the injected agent "thinks" this long before the exfiltration call
    contain_timeout_s: float = 10.0  # each attack waits at most this long for containment
    settle_s: float = 2.0  # keep listening after traffic stops
    data_dir: Path = Path(".soar/fleet")
    fresh_memory: bool = True  # wipe each agent's memory db at start
    request_tokens: bool = True  # with api_url: each agent asks for a token scoped to its tools
    control_fetch_wait_ms: int = 50
    on_event: Callable[[str], None] | None = None  # live log lines (registration, attacks, commands)
    echo_benign: bool = False  # also send benign episodes to on_event
    register: Register | None = None
    # With api_url: get a one-time token per agent (operator side), then the agent enrolls its own key with it.
    enrollment_token: EnrollmentToken | None = None
    # Enforcement point (soar.enforce.ToolServer): with a token, every benign tool call goes through it (authorize
    # on every call), and so does the injected agent's exfiltration attempt.
    tool_server_url: str | None = None


def agent_key(seed: int, agent_id: str) -> Ed25519PrivateKey:
    """The simulator's deterministic key for ``agent_id`` (simulation only: never derive real keys)."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(f"soar-sim:{seed}:{agent_id}".encode()).digest())


@dataclass
class Fleet:
    """The simulated agents of one run; build it, register its keys, then ``await run()``."""

    cfg: FleetConfig
    actors: dict[str, Actor] = field(default_factory=dict)
    stores: dict[str, SQLiteMemoryStore] = field(default_factory=dict)
    _t0: float = 0.0

    def __post_init__(self) -> None:
        ids = [s.agent_id for s in self.cfg.agents]
        missing = {VICTIMS[a] for a in self.cfg.attacks} - set(ids)
        if missing:
            raise ValueError(f"attacks {list(self.cfg.attacks)} need agents {sorted(missing)} in the roster")
        self.cfg.data_dir.mkdir(parents=True, exist_ok=True)
        for i, spec in enumerate(self.cfg.agents):
            path = self.cfg.data_dir / f"{spec.agent_id}.db"
            if self.cfg.fresh_memory:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            store = SQLiteMemoryStore(path)
            self.stores[spec.agent_id] = store
            agent = SoarAgent(
                spec.agent_id,
                agent_key(self.cfg.seed, spec.agent_id),
                self.cfg.bootstrap,
                self.cfg.topics,
                memory=store,
                api_url=self.cfg.api_url,
                session_id=f"sim-{self.cfg.seed}-{spec.agent_id}",
                model="sim-llm",
                version="0.1",
                control_fetch_wait_ms=self.cfg.control_fetch_wait_ms,
            )
            agent.add_command_hook(self._on_command_hook(spec.agent_id))
            rng = random.Random(f"{self.cfg.seed}:{i}:{spec.agent_id}")
            self.actors[spec.agent_id] = Actor(spec, agent, rng, tool_server_url=self.cfg.tool_server_url)

    def agent_keys(self) -> dict[str, str]:
        """agent_id -> raw Ed25519 public key, base64url (what soar's registry enrolls)."""
        return {aid: a.agent.public_key_b64 for aid, a in self.actors.items()}

    def agent_tools(self) -> dict[str, list[str]]:
        """agent_id -> the tools the agent holds."""
        return {aid: list(a.spec.tools) for aid, a in self.actors.items()}

    def agent_specs(self) -> dict[str, FleetAgentSpec]:
        """agent_id -> spec (role, tools, usual peers)."""
        return {aid: a.spec for aid, a in self.actors.items()}

    def say(self, line: str) -> None:
        """Send one live line to ``on_event`` (prefixed with seconds since traffic started)."""
        if self.cfg.on_event is not None:
            t = time.time() - self._t0 if self._t0 else 0.0
            self.cfg.on_event(f"[{t:6.2f}s] {line}")

    def _on_command_hook(self, agent_id: str) -> Callable[[AppliedCommand], None]:
        def hook(applied: AppliedCommand) -> None:
            c = applied.command
            self.say(f"CONTROL {agent_id} <- {c.command} {c.params or ''} ({c.reason or 'no reason'})")

        return hook

    async def _benign(self, actor: Actor, stop: asyncio.Event) -> None:
        rate = max(self.cfg.rate_per_agent, 0.01)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), actor.rng.expovariate(rate))
                return
            try:
                await episode(actor, self.actors)
                if self.cfg.echo_benign:
                    self.say(f"{actor.spec.agent_id} episode {actor.episodes}")
            except AgentQuarantined:
                actor.blocked += 1
            except Exception as e:  # one failed episode must not end the agent
                actor.errors.append(f"{type(e).__name__}: {e}")
                log.warning("sim episode failed", agent_id=actor.spec.agent_id, error=str(e))

    async def _heartbeats(self, actor: Actor, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.cfg.heartbeat_s)
                return
            try:
                await actor.agent.heartbeat()
            except Exception as e:
                actor.errors.append(f"heartbeat: {e}")

    async def _attack(self, name: AttackName, delay: float, ctx: AttackContext) -> AttackReport:
        await asyncio.sleep(delay)
        try:
            return await ATTACK_FUNCS[name](ctx)
        except Exception as e:
            log.warning("sim attack failed", attack=name, error=str(e))
            return AttackReport(attack=name, victim=VICTIMS[name], notes=[f"attack failed: {type(e).__name__}: {e}"])

    async def _setup(self) -> None:
        if self.cfg.enrollment_token is not None and self.cfg.api_url:
            for aid, actor in self.actors.items():
                token = await self.cfg.enrollment_token(aid, list(actor.spec.tools))
                done = await enroll(self.cfg.api_url, token, aid, private_key=actor.agent.private_key)
                self.say(f"enrolled {aid} kid={done.kid} tools={list(actor.spec.tools)}")
        elif self.cfg.register is not None:
            for aid, actor in self.actors.items():
                await self.cfg.register(aid, actor.agent.public_key_b64, list(actor.spec.tools))
                self.say(f"registered {aid} tools={list(actor.spec.tools)}")
        await asyncio.gather(*(a.agent.start() for a in self.actors.values()))
        for aid, actor in self.actors.items():
            with actor.agent.task(f"{aid}-onboarding"):
                for key, value in corpus.MEMORY_FACTS.get(aid, ()):
                    await actor.agent.memory_write("long_term", key, value, "user", origin="onboarding")
            if self.cfg.api_url and self.cfg.request_tokens:
                try:
                    grant = await actor.agent.request_grant(list(actor.spec.tools), task_id=f"{aid}-session")
                    actor.credential_id = grant.credential_id
                except Exception as e:  # the sim still runs without tokens
                    actor.errors.append(f"token request: {e}")
                    self.say(f"token request failed for {aid}: {e}")

    async def run(self) -> FleetReport:
        """Register, start the agents, play benign traffic and the attacks, stop, and report."""
        started = time.time()
        await self._setup()
        self._t0 = time.time()
        self.say(f"fleet of {len(self.actors)} agents running; attacks: {list(self.cfg.attacks)}")
        stop = asyncio.Event()
        background = [asyncio.create_task(self._benign(a, stop)) for a in self.actors.values()]
        background += [asyncio.create_task(self._heartbeats(a, stop)) for a in self.actors.values()]
        ctx = AttackContext(
            self.actors,
            self.say,
            self.cfg.exfil_delay_s,
            self.cfg.contain_timeout_s,
            self.cfg.api_url,
            self.cfg.tool_server_url,
        )
        attack_tasks = [
            asyncio.create_task(self._attack(name, self.cfg.attack_start_s + i * self.cfg.attack_gap_s, ctx))
            for i, name in enumerate(self.cfg.attacks)
        ]
        try:
            await asyncio.sleep(self.cfg.duration_s)
            attacks = list(await asyncio.gather(*attack_tasks))
            await asyncio.sleep(self.cfg.settle_s)
        finally:
            stop.set()
            for t in attack_tasks:
                t.cancel()
            await asyncio.gather(*background, *attack_tasks, return_exceptions=True)
            await asyncio.gather(*(a.agent.stop() for a in self.actors.values()), return_exceptions=True)
        report = self._report(started, attacks)
        for store in self.stores.values():
            store.close()
        return report

    def _report(self, started: float, attacks: list[AttackReport]) -> FleetReport:
        victims: dict[str, list[AttackName]] = {}
        for a in attacks:
            victims.setdefault(a.victim, []).append(a.attack)
            agent = self.actors[a.victim].agent
            since = min((s.produced_at for s in a.steps if s.produced_at), default=a.produced_at or 0.0)
            a.commands = [ReceivedCommand.of(c) for c in agent.applied_commands if c.received_at >= since]
            q = next((c for c in a.commands if c.command == "quarantine"), None)
            if q is not None:
                a.quarantined_at = q.received_at
                if a.produced_at is not None:
                    a.time_to_contain_s = round(q.received_at - a.produced_at, 4)
            if a.attack == "memory" and a.memory_key and agent.memory is not None:
                a.memory_value = agent.memory.get("long_term", a.memory_key)
                a.memory_restored = a.expected_memory_value is not None and a.memory_value == a.expected_memory_value
        totals: Counter[str] = Counter()
        agents: dict[str, AgentReport] = {}
        for aid, actor in self.actors.items():
            ag = actor.agent
            totals.update(ag.sent)
            agents[aid] = AgentReport(
                agent_id=aid,
                role=actor.spec.role,
                tools=list(actor.spec.tools),
                peers=list(actor.spec.peers),
                public_key=ag.public_key_b64,
                kid=ag.kid,
                victim_of=victims.get(aid, []),
                events_sent=dict(ag.sent),
                quarantined=ag.quarantined,
                was_quarantined=any(c.kind == "quarantine" for c in ag.applied_commands),
                commands=[ReceivedCommand.of(c) for c in ag.applied_commands],
                blocked_actions=actor.blocked,
                errors=actor.errors[:20],
                credential_id=actor.credential_id,
                memory=self.stores[aid].items("long_term"),
            )
        return FleetReport(
            started_at=started,
            traffic_started_at=self._t0,
            ended_at=time.time(),
            agents=agents,
            attacks=attacks,
            events_sent=dict(totals),
        )


async def run_fleet(cfg: FleetConfig) -> FleetReport:
    """Run the simulated fleet once (see :class:`FleetConfig`) and return its report."""
    return await Fleet(cfg).run()
