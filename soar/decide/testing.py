"""``soar playbooks test``: replay events through detection and one playbook in dry run, on a scratch database."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from soar.config import get_settings
from soar.decide.engine import Responder
from soar.decide.loader import load_playbooks
from soar.decide.matcher import match, plan
from soar.decide.spec import PlaybookSpec
from soar.errors import ContentError
from soar.telemetry.control import ControlCommand


def pick(playbooks: list[PlaybookSpec], ref: str) -> PlaybookSpec:
    """The playbook named by id, id prefix or title (case-insensitive)."""
    hits = [p for p in playbooks if str(p.id) == ref or str(p.id).startswith(ref) or p.playbook.lower() == ref.lower()]
    if len(hits) != 1:
        known = "; ".join(f"{str(p.id)[:8]} {p.playbook}" for p in playbooks)
        raise ContentError(f"{'no' if not hits else 'several'} playbooks match {ref!r}; known: {known}")
    return hits[0]


async def run_playbook_test(ref: str, events: Path, directory: Path | None = None) -> dict[str, Any]:
    """Detect over ``events``, then run the playbook in dry run for every finding it matches; report everything."""
    from soar.replay import replay_records
    from soar.store.migrate import upgrade
    from soar.store.session import get_sessionmaker

    ref_path = Path(ref)
    if ref_path.suffix in (".yaml", ".yml") and ref_path.exists():
        playbooks = load_playbooks(ref_path)
        pb = playbooks[0]
    else:
        playbooks = load_playbooks(directory or get_settings().playbooks_dir)
        pb = pick(playbooks, ref)
    lines = [ln for ln in events.read_bytes().splitlines() if ln.strip()]
    result = replay_records(lines)
    maturities = {"stable", "incubating", "sandbox", "deprecated"}
    findings = []
    fired = []
    for f in result.findings:
        fires = pb in match(f, [pb], None, maturities=maturities)
        findings.append(
            {
                "detector": f.detector,
                "rule": f.rule,
                "severity": f.severity.label,
                "confidence": f.confidence,
                "summary": f.summary,
                "fires": fires,
                "plan": [p.model_dump() for p in plan(f, pb, dry_run=True)] if fires else [],
            }
        )
        if fires:
            fired.append(f)
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="soar-pbtest-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'test.db'}"
        await upgrade(url)
        sent: list[ControlCommand] = []

        async def publish(cmd: ControlCommand) -> None:
            sent.append(cmd)

        responder = Responder(
            get_sessionmaker(url), [pb], publish, dry_run=True, maturities=maturities, timer_interval_s=None
        )
        for out in await responder.handle(fired):
            runs.append(
                {"run_id": out.run_id, "status": out.status, "incident_id": out.incident_id, "steps": out.steps}
            )
    return {
        "playbook": f"{pb.playbook} ({pb.id})",
        "events": len(result.events),
        "dead_letters": len(result.dead_letters),
        "findings": findings,
        "runs": runs,
        "commands_sent": len(sent),
    }
