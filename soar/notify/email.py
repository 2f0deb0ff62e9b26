"""``EmailNotifier``: a plain-text e-mail over SMTP (stdlib ``smtplib`` in a thread), retried with backoff."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import uuid
from email.message import EmailMessage
from typing import Any, ClassVar

import orjson

from soar.errors import NotifyError
from soar.notify.base import Delivery, Notifier

_MSG_NS = uuid.UUID("b1f3d1e2-6c4a-4a3e-9f1d-7e2c5a8b0d4f")


def message(body: dict[str, Any], sender: str, recipients: list[str], idempotency_key: str, event: str) -> EmailMessage:
    """The e-mail for a notification body; ``Message-ID`` derives from the key so retries can be deduplicated."""
    incident = body.get("incident") or {}
    finding = body.get("finding") or {}
    severity = str(incident.get("severity") or finding.get("severity") or "info").upper()
    if event == "resolve":
        subject = f"[soar] RESOLVED incident {str(body.get('incident_id', ''))[:8]}"
    else:
        subject = f"[soar] {severity}: {body.get('message') or finding.get('summary', 'incident')}"[:200]
    lines = [
        str(body.get("message") or finding.get("summary") or ""),
        "",
        f"agent:     {(body.get('agent') or {}).get('agent_id') or finding.get('agent_id', '?')}",
        f"detector:  {finding.get('detector', '?')}/{finding.get('rule', '?')}",
        f"incident:  {incident.get('incident_id', body.get('incident_id', '-'))} ({incident.get('status', '-')})",
        f"run:       {body.get('run_id', '-')}",
        "",
        "actions taken:",
        *[f"  - {a.get('action')}: {a.get('status')}" for a in body.get("actions_taken") or []],
        "",
        "details (JSON):",
        orjson.dumps(body, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS, default=str).decode(),
    ]
    msg = EmailMessage()
    msg["Subject"] = subject.replace("\n", " ")
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Message-ID"] = f"<{uuid.uuid5(_MSG_NS, idempotency_key)}@soar>"
    msg["X-Soar-Idempotency-Key"] = idempotency_key
    msg.set_content("\n".join(lines))
    return msg


class EmailNotifier(Notifier):
    """Sends to ``recipients`` through ``host:port`` (optional STARTTLS and login)."""

    name: ClassVar[str] = "email"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        recipients: list[str],
        *,
        username: str = "",
        password: str = "",
        starttls: bool = False,
        retries: int = 3,
        backoff_s: float = 0.2,
        timeout_s: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender, self.recipients = host, port, sender, list(recipients)
        self.username, self.password, self.starttls = username, password, starttls
        self.retries, self.backoff_s, self.timeout_s = retries, backoff_s, timeout_s
        self.target = f"smtp://{host}:{port}/{','.join(self.recipients)}"

    def _send(self, msg: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(msg)

    async def deliver(self, body: dict[str, Any], idempotency_key: str, event: str = "trigger") -> Delivery:
        """Send; SMTP 5xx rejections fail at once, connection errors and 4xx retry."""
        msg = message(body, self.sender, self.recipients, idempotency_key, event)
        last = ""
        for attempt in range(1, self.retries + 2):
            try:
                await asyncio.to_thread(self._send, msg)
                return Delivery("delivered", attempt, 250, self.target)
            except smtplib.SMTPResponseException as e:
                if 500 <= e.smtp_code < 600:
                    raise NotifyError(f"smtp {self.host}:{self.port} refused: {e.smtp_code} {e.smtp_error!r}") from e
                last = f"{e.smtp_code} {e.smtp_error!r}"
            except smtplib.SMTPRecipientsRefused as e:
                raise NotifyError(f"smtp {self.host}:{self.port} refused recipients: {e.recipients}") from e
            except (OSError, smtplib.SMTPException) as e:
                last = f"{type(e).__name__}: {e}"
            if attempt <= self.retries:
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
        raise NotifyError(f"smtp {self.host}:{self.port} failed after {self.retries + 1} attempts: {last}")
