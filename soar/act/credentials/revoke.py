"""``credentials:revoke``: revoke the agent's live tokens; authorize denies any token with ``revoked_at`` set."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from soar.act.base import Action, ActionContext, ActionParams
from soar.act.commands import send_command
from soar.store.audit import audit
from soar.store.models import CredentialRecord
from soar.telemetry.events import utcnow


class RevokeCredentialsAction(Action):
    """Revoke every unrevoked, unexpired credential of the agent (or only ``credential_ids``)."""

    name = "credentials:revoke"
    category = "credentials"
    inline = True
    description = (
        "Revoke the agent's live credentials (all, or the ids given) and send a revoke command naming them; "
        "when nothing is left to revoke, send nothing."
    )
    example = "- {id: revoke, action: credentials:revoke, with: {reason: '{{ finding.summary }}'}}"

    class Params(ActionParams):
        """Parameters of credentials:revoke."""

        reason: str = ""
        credential_ids: list[str] | None = None

    async def run(self, ctx: ActionContext, params: ActionParams) -> dict[str, Any]:
        """Revoke and report the ids revoked (idempotent: already revoked tokens are left alone)."""
        assert isinstance(params, self.Params)
        now = utcnow()
        reason = params.reason or ctx.finding.summary
        # one statement revokes and reports what it revoked (the rows stay locked until the step commits)
        q = (
            update(CredentialRecord)
            .where(
                CredentialRecord.agent_id == ctx.agent_id,
                CredentialRecord.revoked_at.is_(None),
                CredentialRecord.expires_at > now,
            )
            .values(revoked_at=now, revoked_reason=reason)
            .returning(CredentialRecord.credential_id)
            .execution_options(synchronize_session=False)
        )
        if params.credential_ids is not None:
            q = q.where(CredentialRecord.credential_id.in_(params.credential_ids))
        ids = sorted((await ctx.session.execute(q)).scalars())
        if ids:
            await audit(
                ctx.session,
                ctx.actor,
                "credentials.revoked",
                f"agent:{ctx.agent_id}",
                {"credential_ids": ids, "reason": reason, "run_id": ctx.run_id, "incident_id": ctx.incident_id},
            )
        if not ids:
            # Nothing live is left (an earlier step or playbook revoked it, or it expired): no command to send.
            await audit(
                ctx.session,
                ctx.actor,
                "credentials.revoke_skipped",
                f"agent:{ctx.agent_id}",
                {"why": "nothing left to revoke", "run_id": ctx.run_id},
            )
            return {"agent_id": ctx.agent_id, "revoked": [], "already": True, "command_id": None}
        cmd = await send_command(ctx, "revoke", {"credential_ids": ids}, reason)
        return {"agent_id": ctx.agent_id, "revoked": ids, "already": False, "command_id": str(cmd.command_id)}
