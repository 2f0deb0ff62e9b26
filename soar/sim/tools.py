"""The simulated fleet's tools, served behind the enforcement example (``soar.enforce.ToolServer``).

Handlers give canned answers computed from the call's arguments (:func:`tool_output`), the same text an agent
reports when it runs without a tool server; what matters is that every call is checked through soar's
authorize first.
"""

from __future__ import annotations

from typing import Any

from soar.sim import corpus

_ARTICLES = dict(corpus.ARTICLES)
_ACCOUNTS = dict(corpus.CRM_ACCOUNTS)


def tool_output(tool: str, args: dict[str, Any]) -> str:
    """What ``tool`` answers to ``args`` in the simulation."""
    if tool == "email.read":
        return "1 new message"
    if tool == "browser.fetch":
        return _ARTICLES.get(str(args.get("url", "")), "404 page not found")
    if tool == "search":
        return f"Top results for '{args.get('q', '')}': 1. overview article 2. industry report 3. FAQ page"
    if tool == "calendar.create":
        return "event created"
    if tool == "calendar.list":
        return f"{len(str(args.get('day', ''))) % 5 + 1} events today"
    if tool == "crm.update":
        return "record updated"
    if tool == "crm.notes":
        return f"Notes for {args.get('account', '?')}: renewal discussed, follow up next month."
    if tool == "crm.lookup":
        return _ACCOUNTS.get(str(args.get("account", "")), "no such account")
    if tool == "payments.transfer":
        return f"transfer to {args.get('vendor', '?')} queued"
    if tool == "ledger.query":
        return "Travel spend May: 12,430 EUR (budget 15,000 EUR)"
    if tool == "invoice.read":
        return "INV-2291 from CloudHost GmbH, 1,200 EUR, approved by manager"
    if tool == "docs.write":
        return "section saved"
    return "ok"


def resource_action(tool: str, args: dict[str, Any]) -> tuple[str, str]:
    """The (resource, action) an enforcement point is asked about for one call."""
    for field in ("url", "account", "vendor", "invoice", "doc", "folder"):
        if field in args:
            return str(args[field]), "write" if tool in ("crm.update", "docs.write", "payments.transfer") else "read"
    return tool, "call"


def _handler(tool: str) -> Any:
    def handler(args: dict[str, Any]) -> Any:
        if tool == "http.post":
            return {"tool": tool, "ok": True, "args": args}
        return tool_output(tool, args)

    return handler


def sim_tools() -> dict[str, Any]:
    """tool name -> handler, for every tool of the default roster plus ``http.post`` (the exfiltration target)."""
    from soar.sim.behaviours import DEFAULT_ROSTER  # behaviours imports this module

    names = {t for spec in DEFAULT_ROSTER for t in spec.tools} | {"http.post"}
    return {name: _handler(name) for name in sorted(names)}
