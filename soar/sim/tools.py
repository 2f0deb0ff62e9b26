"""The simulated fleet's tools, served behind the enforcement example (``soar.enforce.ToolServer``).

Handlers return canned answers; what matters is that every call is checked through soar's authorize first.
"""

from __future__ import annotations

from typing import Any

from soar.sim.behaviours import DEFAULT_ROSTER


def _echo(tool: str) -> Any:
    def handler(args: dict[str, Any]) -> dict[str, Any]:
        return {"tool": tool, "ok": True, "args": args}

    return handler


def sim_tools() -> dict[str, Any]:
    """tool name -> handler, for every tool of the default roster plus ``http.post`` (the exfiltration target)."""
    names = {t for spec in DEFAULT_ROSTER for t in spec.tools} | {"http.post"}
    return {name: _echo(name) for name in sorted(names)}
