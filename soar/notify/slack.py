"""``SlackNotifier``: Block Kit message to a Slack incoming-webhook URL."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
import orjson

from soar.notify.base import Delivery, Notifier, post_json

_EMOJI = {"critical": ":rotating_light:", "high": ":red_circle:", "medium": ":large_orange_circle:"}


def blocks(body: dict[str, Any]) -> dict[str, Any]:
    """The Slack payload for a notification body: ``text`` (fallback) plus header, fields, actions and context."""
    incident = body.get("incident") or {}
    finding = body.get("finding") or {}
    agent = body.get("agent") or {}
    severity = str(incident.get("severity") or finding.get("severity") or "info")
    title = f"{_EMOJI.get(severity, ':information_source:')} {body.get('message') or finding.get('summary', 'soar')}"
    fields = [
        ("Agent", agent.get("agent_id") or finding.get("agent_id") or "?"),
        ("Severity", severity),
        ("Detector", f"{finding.get('detector', '?')}/{finding.get('rule', '?')}"),
        ("Incident", f"{str(incident.get('incident_id', '-'))[:8]} ({incident.get('status', '-')})"),
    ]
    done = [f"`{a.get('action')}` {a.get('status')}" for a in body.get("actions_taken") or []]
    out: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": True}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in fields]},
    ]
    if done:
        out.append({"type": "section", "text": {"type": "mrkdwn", "text": "*Actions taken*\n" + "\n".join(done)}})
    out.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"run `{body.get('run_id', '-')}` · soar"}],
        }
    )
    return {"text": title[:3000], "blocks": out}


class SlackNotifier(Notifier):
    """Posts a Block Kit message to an incoming webhook; retries 5xx/429 and transport errors with backoff."""

    name: ClassVar[str] = "slack"

    def __init__(
        self,
        url: str,
        *,
        client: httpx.AsyncClient | None = None,
        retries: int = 3,
        backoff_s: float = 0.2,
        timeout_s: float = 5.0,
    ) -> None:
        self.url = self.target = url
        self.client = client
        self.retries, self.backoff_s, self.timeout_s = retries, backoff_s, timeout_s

    async def deliver(self, body: dict[str, Any], idempotency_key: str, event: str = "trigger") -> Delivery:
        """Send the message (Slack has no resolve: a resolve event is sent as a plain message)."""
        payload = blocks(body) if event == "trigger" else {"text": f"resolved: incident {body.get('incident_id')}"}
        attempts, resp = await post_json(
            self.client,
            self.url,
            orjson.dumps(payload),
            {"Content-Type": "application/json"},
            retries=self.retries,
            backoff_s=self.backoff_s,
            timeout_s=self.timeout_s,
            label="slack",
        )
        return Delivery("delivered", attempts, resp.status_code, self.url)
