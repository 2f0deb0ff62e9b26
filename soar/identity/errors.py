"""Errors of the identity package (all under ``SoarError``; see ``soar/errors.py`` for the tree).

SoarError
├── IdentityError              an identity operation was refused
│   ├── AgentNotFound          no agent with that id
│   ├── KeyConflict            the public key is registered to another agent
│   ├── AgentNotActive         the agent is quarantined (no new credentials)
│   ├── ScopeNotAllowed        a requested scope names a tool outside the agent's ``tools``
│   └── CredentialConflict     a credential with that id exists already (a replayed request)
└── VerificationError
    ├── TokenRequestRejected   an agent-signed token request failed (skew, kid, signature, replay, scope)
    └── EnrollmentRejected     an enrollment failed (token unknown/used/expired, proof of possession, skew)
"""

from __future__ import annotations

from soar.errors import SoarError, VerificationError


class IdentityError(SoarError):
    """An identity operation was refused."""


class AgentNotFound(IdentityError):
    """No agent with that id is registered."""


class KeyConflict(IdentityError):
    """The public key is already registered to another agent."""


class AgentNotActive(IdentityError):
    """The agent is quarantined; it gets no new credentials."""


class ScopeNotAllowed(IdentityError):
    """A requested scope names a tool the agent may not call."""


class CredentialConflict(IdentityError):
    """A credential with that id exists already (a replayed token request)."""


class TokenRequestRejected(VerificationError):
    """An agent-signed token request was rejected; ``reason`` is a short machine-readable code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class EnrollmentRejected(VerificationError):
    """An enrollment request was rejected; ``reason`` is a short machine-readable code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)
