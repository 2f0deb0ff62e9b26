"""Content: every shipped playbook loads, and its sample event file fires it through detect -> decide (dry run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from soar.config import ROOT, get_settings
from soar.decide.approvals import decide_step
from soar.decide.engine import Responder
from soar.decide.loader import load_playbooks
from soar.decide.matcher import match, plan
from soar.detect import build_detectors
from soar.detect.base import AgentProfile, DetectConfig, MemoryState
from soar.ingest.decoders import RawRecord
from soar.notify import Notifiers, WebhookNotifier
from soar.pipeline import Pipeline
from soar.replay import replay_records
from soar.store.models import IncidentRecord, StepRunRecord
from soar.telemetry.findings import Finding
from soar.verify.checks import KeyDirectory
from tests.decide.samples import Published
from tests.notify.receiver import SECRET, Receiver

EVENTS = ROOT / "tests" / "files" / "events"
PLAYBOOKS = load_playbooks(ROOT / "playbooks")
#: agents the coordination detector needs to know (their own tools) for confused-deputy checks
ROSTER = {
    "mail-triage": frozenset({"email.read", "calendar.create", "search"}),
    "scheduler": frozenset({"calendar.create", "calendar.list"}),
    "crm-assistant": frozenset({"crm.lookup", "crm.notes", "crm.update"}),
    "finance-ops": frozenset({"payments.transfer", "ledger.query", "invoice.read"}),
    "report-writer": frozenset({"docs.write", "search"}),
}
#: playbook title -> the sample event file that must fire it (identity samples need the identity checks on)
SAMPLES = {
    "Contain indirect prompt injection": "indirect-injection.jsonl",
    "Contain direct prompt injection": "direct-injection.jsonl",
    "Contain memory poisoning and roll memory back": "memory-poisoning.jsonl",
    "Contain anomalous agent coordination": "anomalous-coordination.jsonl",
    "Triage medium coordination findings": "coordination-triage.jsonl",
    "Page on agent identity failure": "identity-failure.jsonl",
    "Contain scope violation and credential misuse": "scope-violation.jsonl",
    "Contain data leaving the fleet": "data-leak.jsonl",
    "Contain exfiltration attempt": "exfiltration-attempt.jsonl",
    "Contain activity while quarantined": "containment-breach.jsonl",
}
IDENTITY = {"identity-failure.jsonl": set(), "containment-breach.jsonl": {"finance-ops"}}


def detect(path: Path) -> list[Finding]:
    """Run a sample through ingest -> (verify) -> detect with in-memory state."""
    lines = [ln for ln in path.read_bytes().splitlines() if ln.strip()]
    if path.name not in IDENTITY and not any(a in path.read_text() for a in ("finance-ops", '"mail-triage"')):
        return replay_records(lines).findings
    s = get_settings()
    directory = KeyDirectory(
        agents={a: AgentProfile(a, t) for a, t in ROSTER.items()}, quarantined=set(IDENTITY.get(path.name, ()))
    )
    pipeline = Pipeline(
        build_detectors(DetectConfig(detectors_dir=s.detectors_dir)),
        directory,
        MemoryState(),
        s,
        check_identity=path.name in IDENTITY,
    )
    result = pipeline.process([RawRecord(v, "sample", 0, i) for i, v in enumerate(lines)])
    assert not result.dead_letters
    return result.findings


def test_content_library_is_complete() -> None:
    titles = {p.playbook for p in PLAYBOOKS}
    assert set(SAMPLES) <= titles and "Escalate unacknowledged incident" in titles
    assert len(PLAYBOOKS) >= 9
    for name in SAMPLES.values():
        assert (EVENTS / name).is_file()


@pytest.mark.parametrize("title", sorted(SAMPLES))
async def test_content_sample_fires_playbook(title: str, sqlite_sessionmaker) -> None:
    [pb] = [p for p in PLAYBOOKS if p.playbook == title]
    findings = detect(EVENTS / SAMPLES[title])
    firing = [f for f in findings if pb in match(f, PLAYBOOKS, None)]
    assert firing, f"{SAMPLES[title]} made {[(f.detector, f.rule, f.severity.label) for f in findings]}"
    planned = plan(firing[0], pb, dry_run=True)
    assert [s.step_id for s in planned if not s.on_failure] == [s.id for s in pb.steps]
    assert all(not s.error for s in planned), [s.error for s in planned]
    pub = Published()
    responder = Responder(sqlite_sessionmaker, PLAYBOOKS, pub, dry_run=True, timer_interval_s=None)
    outcomes = await responder.handle(firing)
    mine = [o for o in outcomes if o.playbook_id == str(pb.id)]
    assert mine and mine[0].dry_run and mine[0].status in ("completed", "waiting")
    for st in mine[0].steps:
        assert st["status"] in ("succeeded", "skipped"), st
        assert st["status"] == "skipped" or st["output"]["dry_run"]
    assert pub == []


async def test_content_medium_coordination_is_triaged_and_quarantine_waits_for_a_person(
    sqlite_sessionmaker, receiver: Receiver
) -> None:
    [triage] = [p for p in PLAYBOOKS if p.playbook == "Triage medium coordination findings"]
    [contain] = [p for p in PLAYBOOKS if p.playbook == "Contain anomalous agent coordination"]
    [f] = detect(EVENTS / "coordination-triage.jsonl")
    assert (f.rule, f.severity.label) == ("delegation_depth", "medium")
    assert match(f, PLAYBOOKS, None) == [triage]  # the containment playbook does not answer a medium finding
    high = detect(EVENTS / "anomalous-coordination.jsonl")
    assert high and all(triage not in match(h, PLAYBOOKS, None) for h in high)  # nor the triage a high one
    assert any(contain in match(h, PLAYBOOKS, None) for h in high)
    # a real run: the incident is opened for the SOC and the SOC channel notified; nothing is contained
    pub = Published()
    notifiers = Notifiers({"soc": WebhookNotifier(receiver.url, SECRET, backoff_s=0.01)})
    responder = Responder(sqlite_sessionmaker, [triage], pub, notifiers, timer_interval_s=None)
    [out] = await responder.handle([f])
    assert out.status == "waiting" and out.contained_at is None and pub == []
    assert [st["step"] for st in out.steps if st["status"] == "succeeded"] == ["open", "record", "notify"]
    assert len(receiver.requests) == 1
    async with sqlite_sessionmaker() as s:
        q = await s.get(StepRunRecord, f"{out.run_id}:quarantine")
        assert q is not None and q.status == "waiting" and q.output["approval"]["on_timeout"] == "deny"
        inc = await s.get(IncidentRecord, out.incident_id)
        assert inc is not None and inc.owner == "soc" and inc.severity == "medium"
    # a SOC analyst who looked decides to contain: the quarantine goes out
    await decide_step(sqlite_sessionmaker, out.run_id, "quarantine", "approved", "user:sam", {"soc"})
    [done] = await responder.tick()
    assert done.status == "completed" and done.contained_at is not None
    assert [(c.command, c.agent_id) for c in pub] == [("quarantine", f.agent_id)]


async def test_content_escalation_fires_for_unacknowledged_incident(sqlite_sessionmaker) -> None:
    from datetime import timedelta

    from soar.decide.incidents import escalation_findings
    from soar.store.models import IncidentRecord
    from soar.telemetry.events import utcnow

    async with sqlite_sessionmaker() as s, s.begin():
        s.add(
            IncidentRecord(
                incident_id="inc-1", agent_id="a1", title="t", severity="high", status="contained",
                first_event_at=utcnow() - timedelta(hours=1), opened_at=utcnow() - timedelta(hours=1),
            )
        )  # fmt: skip
    async with sqlite_sessionmaker() as s:
        [f] = await escalation_findings(s, timedelta(minutes=15))
    [pb] = [p for p in PLAYBOOKS if p.playbook == "Escalate unacknowledged incident"]
    assert pb in match(f, PLAYBOOKS, None)
    [out] = await Responder(sqlite_sessionmaker, [pb], Published(), dry_run=True, timer_interval_s=None).handle([f])
    assert out.status == "completed" and out.incident_id == "inc-1"


def test_docs_example_playbook_loads(tmp_path: Path) -> None:
    import re

    from soar.decide.loader import load_file

    block = re.search(r"```yaml\n(.*?)```", (ROOT / "docs" / "playbooks.md").read_text(), re.S)
    assert block is not None
    (tmp_path / "example.yaml").write_text(block.group(1))
    specs, errors = load_file(tmp_path / "example.yaml")
    assert errors == [] and len(specs) == 1 and specs[0].steps[2].approval is not None
