"""``credentials:rotate``: retire the agent's live tokens so it must fetch fresh ones (it stays active)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from soar.act.base import Action, ActionContext, ActionParams
from soar.act.commands import send_command
from soar.store.audit import audit
from soar.store.models import CredentialRecord
from soar.telemetry.events import utcnow


class RotateCredentialsAction(Action):
    """Revoke the live tokens with reason ``rotated`` and tell the agent to drop them; new ones can be issued."""

    name = "credentials:rotate"
    category = "credentials"
    description = (
        "Rotate the agent's task-scoped tokens: the live ones (optionally only for one task) are revoked as "
        "'rotated' and the agent is told to drop them; unlike revoke the agent is not contained and may request "
        "new tokens at once. Nothing is sent when no token is live."
    )
    example = "- {id: rotate, action: credentials:rotate, with: {task_only: true}}"
    containment = False

    class Params(ActionParams):
        """Parameters of credentials:rotate."""

        task_only: bool = False
        reason: str = "rotated"

    async def run(self, ctx: ActionContext, params: ActionParams) -> dict[str, Any]:
        """Rotate (idempotent: tokens already retired are left alone and nothing is re-sent)."""
        assert isinstance(params, self.Params)
        now = utcnow()
        q = select(CredentialRecord).where(
            CredentialRecord.agent_id == ctx.agent_id,
            CredentialRecord.revoked_at.is_(None),
            CredentialRecord.expires_at > now,
        )
        if params.task_only:
            q = q.where(CredentialRecord.task_id == ctx.finding.task_id)
        creds = list((await ctx.session.execute(q.with_for_update())).scalars())
        ids = sorted(c.credential_id for c in creds)
        if not ids:
            return {"agent_id": ctx.agent_id, "rotated": [], "already": True, "command_id": None}
        for cred in creds:
            cred.revoked_at, cred.revoked_reason = now, params.reason
        await ctx.session.flush()
        await audit(
            ctx.session,
            ctx.actor,
            "credentials.rotated",
            f"agent:{ctx.agent_id}",
            {"credential_ids": ids, "reason": params.reason, "run_id": ctx.run_id, "incident_id": ctx.incident_id},
        )
        cmd = await send_command(ctx, "revoke", {"credential_ids": ids, "rotate": True}, params.reason)
        return {"agent_id": ctx.agent_id, "rotated": ids, "already": False, "command_id": str(cmd.command_id)}
