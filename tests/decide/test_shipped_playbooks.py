"""Every shipped playbook loads, and fires in dry run for a sample finding built from its trigger."""

from __future__ import annotations

import pytest

from soar.config import ROOT
from soar.decide.engine import Responder
from soar.decide.loader import load_playbooks
from soar.decide.matcher import match, plan
from soar.decide.spec import PlaybookSpec
from soar.store.models import AgentRecord
from soar.telemetry.findings import Finding
from tests.decide.samples import Published, make_finding

PLAYBOOKS = load_playbooks(ROOT / "playbooks")
AGENT = {"agent_id": "agent-1", "status": "active", "labels": {}, "tools": [], "owner": "", "status_reason": ""}


def sample(pb: PlaybookSpec) -> Finding:
    """A finding that should fire ``pb``: its first detector and rule, fully confident, critical (or the highest
    severity its ``where`` admits: the medium-coordination triage leaves high and critical to containment)."""
    found = [
        make_finding(
            pb.trigger.detectors[0] if pb.trigger.detectors else "any",
            pb.trigger.rules[0] if pb.trigger.rules else "any",
            severity=severity,
            confidence=1.0,
            tags=list(pb.trigger.tags),
        )
        for severity in ("critical", "high", "medium")
    ]
    return next((f for f in found if pb in match(f, PLAYBOOKS, AGENT)), found[0])


@pytest.mark.parametrize("pb", PLAYBOOKS, ids=[p.playbook for p in PLAYBOOKS])
def test_shipped_playbook_matches_and_plans(pb: PlaybookSpec) -> None:
    f = sample(pb)
    assert pb in match(f, PLAYBOOKS, AGENT)
    steps = plan(f, pb, AGENT, dry_run=True)
    assert [s.step_id for s in steps if not s.on_failure] == [s.id for s in pb.steps]
    assert all(not s.error for s in steps), [s.error for s in steps]


@pytest.mark.parametrize("pb", PLAYBOOKS, ids=[p.playbook for p in PLAYBOOKS])
async def test_shipped_playbook_fires_in_dry_run(pb: PlaybookSpec, sqlite_sessionmaker) -> None:
    async with sqlite_sessionmaker() as s, s.begin():
        s.add(AgentRecord(agent_id="agent-1"))
    pub = Published()
    outcomes = await Responder(sqlite_sessionmaker, PLAYBOOKS, pub, dry_run=True, timer_interval_s=None).handle(
        [sample(pb)]
    )
    [out] = [o for o in outcomes if o.playbook_id == str(pb.id)]
    assert out.status == "completed" and out.dry_run
    assert [st["step"] for st in out.steps] == [s.id for s in pb.steps]
    assert all(st["status"] == "skipped" or st["output"]["dry_run"] for st in out.steps)
    assert pub == []


def test_shipped_bad_signature_quarantine_needs_known_agent() -> None:
    [pb] = [p for p in PLAYBOOKS if p.playbook == "Quarantine agent on bad signature"]
    f = make_finding("identity", "bad_signature", severity="critical")
    assert pb in match(f, PLAYBOOKS, AGENT)
    assert pb not in match(f, PLAYBOOKS, None)
