"""The agent-side SDK: signed telemetry, control commands, task-scoped tokens, memory adapters."""

from soar.sdk.client import AgentQuarantined, AppliedCommand, SdkError, SoarAgent
from soar.sdk.enroll import Enrollment, EnrollmentFailed, enroll, generate_key, load_key, save_key
from soar.sdk.memory import DictMemoryStore, MemoryStore, SQLiteMemoryStore
from soar.sdk.sync import SoarAgentSync
from soar.sdk.tokens import AuthorizeDecision, TokenGrant

__all__ = [
    "AgentQuarantined",
    "AppliedCommand",
    "AuthorizeDecision",
    "DictMemoryStore",
    "Enrollment",
    "EnrollmentFailed",
    "MemoryStore",
    "SQLiteMemoryStore",
    "SdkError",
    "SoarAgent",
    "SoarAgentSync",
    "TokenGrant",
    "enroll",
    "generate_key",
    "load_key",
    "save_key",
]
