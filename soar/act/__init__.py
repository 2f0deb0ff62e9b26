"""Act stage: response actions, one module each, in one explicit registry table.

``ACTIONS.get("agent:quarantine")`` returns the class; the loader resolves every playbook step against it.
"""

from __future__ import annotations

from soar.act.agent.quarantine import QuarantineAgentAction
from soar.act.agent.release import ReleaseAgentAction
from soar.act.base import Action, ActionContext, ActionParams
from soar.act.credentials.revoke import RevokeCredentialsAction
from soar.act.memory.rollback import RollbackMemoryAction
from soar.act.notify.webhook import WebhookNotifyAction
from soar.registry import Registry

ACTIONS: Registry[type[Action]] = Registry("action")
ACTIONS.add(QuarantineAgentAction)  # agent:quarantine
ACTIONS.add(ReleaseAgentAction)  # agent:release
ACTIONS.add(RevokeCredentialsAction)  # credentials:revoke
ACTIONS.add(RollbackMemoryAction)  # memory:rollback
ACTIONS.add(WebhookNotifyAction)  # notify:webhook

__all__ = ["ACTIONS", "Action", "ActionContext", "ActionParams"]
