"""Build an ``ActionContext`` for action tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from soar.act.base import ActionContext
from soar.notify import Notifiers
from soar.telemetry.findings import Finding
from tests.decide.samples import Published


def make_ctx(
    session: AsyncSession,
    finding: Finding,
    published: Published,
    *,
    key: str = "run-1:step",
    notifiers: Notifiers | None = None,
    dry_run: bool = False,
    **kw: Any,
) -> ActionContext:
    """A context for one step of a fictitious run."""
    return ActionContext(
        session=session,
        finding=finding,
        agent_id=finding.agent_id,
        incident_id=kw.pop("incident_id", None),
        run_id="run-1",
        playbook_id="pb-1",
        step_id=key.rsplit(":", 1)[-1],
        idempotency_key=key,
        publish=published,
        notifiers=notifiers,
        dry_run=dry_run,
        **kw,
    )
