"""The ``Action`` extension point: one containment or response step a playbook can call by name.

An action declares its ``name`` (``<category>:<name>``), a ``Params`` model checked at load time, and
``run(ctx, params)``, which does the work inside the step's database transaction and returns a JSON-able
output. It must be idempotent on ``ctx.idempotency_key``: a resumed step may run again::

    class SuspendAgentAction(Action):
        name = "agent:suspend"
        category = "agent"
        description = "Suspend the agent."
        example = "- {id: suspend, action: agent:suspend, with: {reason: why}}"

        class Params(ActionParams):
            reason: str = ""

        async def run(self, ctx, params):
            ...
            return {"suspended": ctx.agent_id}
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from soar.errors import ActionCheckFailed
from soar.telemetry.control import ControlCommand
from soar.telemetry.findings import Finding

if TYPE_CHECKING:
    from soar.notify import Notifiers

Publish = Callable[[ControlCommand], Awaitable[None]]


class ActionParams(BaseModel):
    """Base of every action's ``Params``: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass
class ActionContext:
    """What an action sees while it runs (one step of one run)."""

    session: AsyncSession
    finding: Finding
    agent_id: str
    incident_id: str | None
    run_id: str
    playbook_id: str
    step_id: str
    idempotency_key: str
    publish: Publish
    notifiers: Notifiers | None = None
    dry_run: bool = False
    agent: dict[str, Any] | None = None
    #: outputs of the steps already done in this run: ``[{"step", "action", "status", "output"}]``
    actions_taken: list[dict[str, Any]] = field(default_factory=list)

    @property
    def actor(self) -> str:
        """The audit actor for changes made by this step."""
        return f"playbook:{self.playbook_id}"


class Action:
    """Base class of response actions; subclasses set the class attributes and implement ``run``."""

    name: ClassVar[str] = ""
    category: ClassVar[str] = ""
    description: ClassVar[str] = ""
    example: ClassVar[str] = ""
    #: containment steps gate incident status (contained) and wait for approval in ``approve`` mode
    containment: ClassVar[bool] = True
    #: its effects are rows in soar's own database and control commands on the broker (no call to anything
    #: outside, no wait on a person): as a run's first steps it may commit in the transaction that creates the
    #: run (``Executor.run_inline``), so containment is recorded with one commit
    inline: ClassVar[bool] = False

    class Params(ActionParams):
        """No parameters."""

    @classmethod
    def check_params(cls, raw: dict[str, Any]) -> ActionParams:
        """Validate raw ``with`` parameters; raises pydantic ``ValidationError``."""
        return cls.Params.model_validate(raw)

    def check(self, ctx: ActionContext, params: ActionParams) -> None:
        """Precondition before running; raise ActionCheckFailed to refuse (default: an agent id is needed)."""
        if not ctx.agent_id:
            raise ActionCheckFailed(f"{self.name}: finding has no agent_id")

    async def preview(self, ctx: ActionContext, params: ActionParams) -> dict[str, Any]:
        """What a dry run reports instead of acting."""
        return {
            "dry_run": True,
            "action": self.name,
            "agent_id": ctx.agent_id,
            "params": params.model_dump(mode="json"),
        }

    async def run(self, ctx: ActionContext, params: ActionParams) -> dict[str, Any]:
        """Do the work (idempotently) and return a JSON-able output."""
        raise NotImplementedError

    async def execute(self, ctx: ActionContext, raw: dict[str, Any]) -> dict[str, Any]:
        """Validate rendered params, check, then run (or preview when ``ctx.dry_run``)."""
        try:
            params = self.check_params(raw)
        except ValidationError as e:
            if ctx.dry_run:  # templates over earlier step outputs stay unrendered in a dry run
                return {"dry_run": True, "action": self.name, "agent_id": ctx.agent_id, "params": raw}
            raise ActionCheckFailed(f"{self.name}: bad params after rendering: {e}") from e
        self.check(ctx, params)
        if ctx.dry_run:
            return await self.preview(ctx, params)
        return await self.run(ctx, params)
