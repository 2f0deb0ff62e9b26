"""``PagerDutyNotifier``: PagerDuty Events API v2; ``trigger`` per incident, ``resolve`` with the same dedup_key."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
import orjson

from soar.notify.base import Delivery, Notifier, post_json

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
#: soar severity -> PagerDuty severity (critical, error, warning, info)
SEVERITY = {"critical": "critical", "high": "error", "medium": "warning", "low": "info", "info": "info"}


def dedup_key(body: dict[str, Any], idempotency_key: str) -> str:
    """One PagerDuty alert per incident (every page about it updates the same alert); else per step."""
    incident_id = (body.get("incident") or {}).get("incident_id") or body.get("incident_id")
    return f"soar-{incident_id}" if incident_id else f"soar-{idempotency_key}"


def event(body: dict[str, Any], routing_key: str, idempotency_key: str, action: str) -> dict[str, Any]:
    """The Events API v2 request for a notification body."""
    out: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": dedup_key(body, idempotency_key),
    }
    if action != "trigger":
        return out
    incident = body.get("incident") or {}
    finding = body.get("finding") or {}
    severity = str(incident.get("severity") or finding.get("severity") or "info")
    out["payload"] = {
        "summary": str(body.get("message") or finding.get("summary") or "soar incident")[:1024],
        "source": str((body.get("agent") or {}).get("agent_id") or finding.get("agent_id") or "soar"),
        "severity": SEVERITY.get(severity, "info"),
        "component": f"{finding.get('detector', '')}/{finding.get('rule', '')}",
        "group": "soar",
        "class": finding.get("rule", ""),
        "custom_details": {
            "incident": incident,
            "actions_taken": body.get("actions_taken") or [],
            "run_id": body.get("run_id"),
            "tags": finding.get("tags") or [],
        },
    }
    return out


class PagerDutyNotifier(Notifier):
    """Sends Events API v2 requests to ``url`` (configurable so tests and proxies can receive them)."""

    name: ClassVar[str] = "pagerduty"
    resolves: ClassVar[bool] = True

    def __init__(
        self,
        routing_key: str,
        *,
        url: str = EVENTS_URL,
        client: httpx.AsyncClient | None = None,
        retries: int = 3,
        backoff_s: float = 0.2,
        timeout_s: float = 5.0,
    ) -> None:
        self.routing_key = routing_key
        self.url = url
        self.target = f"{url}#{routing_key[:6]}"
        self.client = client
        self.retries, self.backoff_s, self.timeout_s = retries, backoff_s, timeout_s

    async def deliver(self, body: dict[str, Any], idempotency_key: str, event_action: str = "trigger") -> Delivery:
        """Trigger (or resolve) the incident's alert; PagerDuty answers 202."""
        request = event(body, self.routing_key, idempotency_key, event_action)
        attempts, resp = await post_json(
            self.client,
            self.url,
            orjson.dumps(request),
            {"Content-Type": "application/json"},
            retries=self.retries,
            backoff_s=self.backoff_s,
            timeout_s=self.timeout_s,
            label="pagerduty",
        )
        return Delivery("delivered", attempts, resp.status_code, self.target)

    async def resolve(self, incident_id: str, idempotency_key: str) -> Delivery:
        """Resolve the incident's alert (same dedup_key as the trigger)."""
        return await self.deliver({"incident_id": incident_id}, idempotency_key, "resolve")
