"""Calling a soar-enforced tool server: ``call_tool`` returns the result or raises :class:`ToolDenied`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from soar.errors import SoarError


class ToolDenied(SoarError):
    """The enforcement point refused the call; ``reason`` is soar's code (``revoked``, ``agent_quarantined``...)."""

    def __init__(self, tool: str, reason: str, status_code: int) -> None:
        self.tool = tool
        self.reason = reason
        self.status_code = status_code
        super().__init__(f"{tool} denied: {reason} ({status_code})")


@dataclass(frozen=True)
class ToolResponse:
    """An allowed call's result."""

    tool: str
    result: Any
    reason: str


async def call_tool(
    http: httpx.AsyncClient,
    server_url: str,
    token: str,
    tool: str,
    resource: str,
    action: str,
    args: dict[str, Any] | None = None,
) -> ToolResponse:
    """``POST {server_url}/tools/{tool}`` with the task token; raises :class:`ToolDenied` on any refusal."""
    r = await http.post(
        f"{server_url.rstrip('/')}/tools/{tool}",
        json={"resource": resource, "action": action, "args": args or {}},
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        data = r.json()
    except ValueError:
        data = {}
    if r.status_code != 200 or not data.get("allowed"):
        raise ToolDenied(tool, str(data.get("reason") or f"http_{r.status_code}"), r.status_code)
    return ToolResponse(tool, data.get("result"), str(data.get("reason", "")))
