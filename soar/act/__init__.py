"""Act stage: response actions, one module each, in one explicit registry table.

``ACTIONS.get("agent:quarantine")`` returns the class; the loader resolves every playbook step against it.
"""

from __future__ import annotations

from soar.act.agent.quarantine import QuarantineAgentAction
from soar.act.agent.release import ReleaseAgentAction
from soar.act.base import Action, ActionContext, ActionParams
from soar.act.control.publish import PublishControlAction
from soar.act.credentials.revoke import RevokeCredentialsAction
from soar.act.credentials.rotate import RotateCredentialsAction
from soar.act.http.request import HttpRequestAction
from soar.act.incident.notes import NoteIncidentAction, OpenIncidentAction
from soar.act.memory.rollback import RollbackMemoryAction
from soar.act.memory.snapshot import SnapshotMemoryAction
from soar.act.notify.send import NotifyAction, WebhookNotifyAction
from soar.registry import Registry

ACTIONS: Registry[type[Action]] = Registry("action")
ACTIONS.add(QuarantineAgentAction)  # agent:quarantine
ACTIONS.add(ReleaseAgentAction)  # agent:release
ACTIONS.add(RevokeCredentialsAction)  # credentials:revoke
ACTIONS.add(RotateCredentialsAction)  # credentials:rotate
ACTIONS.add(SnapshotMemoryAction)  # memory:snapshot
ACTIONS.add(RollbackMemoryAction)  # memory:rollback
ACTIONS.add(PublishControlAction)  # control:publish
ACTIONS.add(OpenIncidentAction)  # incident:open
ACTIONS.add(NoteIncidentAction)  # incident:note
ACTIONS.add(HttpRequestAction)  # http:request
ACTIONS.add(NotifyAction)  # notify:send
ACTIONS.add(WebhookNotifyAction)  # notify:webhook (alias of notify:send)

__all__ = ["ACTIONS", "Action", "ActionContext", "ActionParams"]
