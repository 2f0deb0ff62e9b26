"""Notifiers: the registry of notifier kinds (separate from actions) and ``Notifiers``, the configured channels.

Channels come from the environment (``<NAME>`` adds channel ``<name>``, lower-cased; without it the default
channel name is used):

==========================================  ==============================================================
``SOAR_WEBHOOK_URL[_<NAME>]``               generic webhook, HMAC-signed with ``settings.webhook_secret``
                                            (default channel ``oncall``)
``SOAR_SLACK_WEBHOOK_URL[_<NAME>]``         Slack incoming webhook, Block Kit (default channel ``slack``)
``SOAR_PAGERDUTY_ROUTING_KEY[_<NAME>]``     PagerDuty Events API v2 (default channel ``pagerduty``);
                                            ``SOAR_PAGERDUTY_URL`` overrides the events endpoint
``SOAR_SMTP_TO[_<NAME>]``                   e-mail to these comma-separated addresses (default channel
                                            ``email``) through ``SOAR_SMTP_HOST``, ``SOAR_SMTP_PORT`` (25),
                                            ``SOAR_SMTP_FROM``, ``SOAR_SMTP_USER``, ``SOAR_SMTP_PASSWORD``,
                                            ``SOAR_SMTP_STARTTLS`` (1/true)
``SOAR_NOTIFY_FALLBACK_<CHANNEL>``          the channel to use when ``<channel>`` cannot deliver
==========================================  ==============================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import httpx

from soar.config import Settings, get_settings
from soar.errors import NotifyError
from soar.notify.base import Delivery, Notifier
from soar.notify.email import EmailNotifier
from soar.notify.pagerduty import EVENTS_URL, PagerDutyNotifier
from soar.notify.slack import SlackNotifier
from soar.notify.webhook import WebhookNotifier
from soar.registry import Registry

NOTIFIERS: Registry[type[Notifier]] = Registry("notifier")
NOTIFIERS.add(WebhookNotifier)  # webhook
NOTIFIERS.add(SlackNotifier)  # slack
NOTIFIERS.add(PagerDutyNotifier)  # pagerduty
NOTIFIERS.add(EmailNotifier)  # email

DEFAULT_CHANNEL = "oncall"
_TRUE = {"1", "true", "yes", "on"}


class Notifiers:
    """The configured channels: channel name -> notifier instance, and channel -> fallback channel."""

    def __init__(
        self, channels: Mapping[str, Notifier] | None = None, fallbacks: Mapping[str, str] | None = None
    ) -> None:
        self.channels: dict[str, Notifier] = dict(channels or {})
        self.fallbacks: dict[str, str] = dict(fallbacks or {})

    def get(self, channel: str) -> Notifier:
        """The notifier for ``channel``; NotifyError names the configured ones."""
        try:
            return self.channels[channel]
        except KeyError:
            known = ", ".join(sorted(self.channels)) or "none"
            raise NotifyError(f"no notifier configured for channel {channel!r}; configured: {known}") from None

    def chain(self, channel: str) -> list[str]:
        """``channel`` then its fallbacks in order (cycles cut)."""
        out = [channel]
        while (nxt := self.fallbacks.get(out[-1])) is not None and nxt not in out:
            out.append(nxt)
        return out

    def __contains__(self, channel: object) -> bool:
        return channel in self.channels

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        environ: Mapping[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> Notifiers:
        """Channels and fallbacks from the environment (see the module docstring)."""
        settings = settings or get_settings()
        env = os.environ if environ is None else environ
        channels: dict[str, Notifier] = {}
        fallbacks: dict[str, str] = {}

        def named(var: str, prefix: str, default: str) -> str | None:
            if var == prefix:
                return default
            if var.startswith(prefix + "_"):
                return var.removeprefix(prefix + "_").lower()
            return None

        for var, value in env.items():
            if not value:
                continue
            if (ch := named(var, "SOAR_WEBHOOK_URL", DEFAULT_CHANNEL)) is not None:
                channels[ch] = WebhookNotifier(value, settings.webhook_secret, client=client)
            elif (ch := named(var, "SOAR_SLACK_WEBHOOK_URL", "slack")) is not None:
                channels[ch] = SlackNotifier(value, client=client)
            elif (ch := named(var, "SOAR_PAGERDUTY_ROUTING_KEY", "pagerduty")) is not None:
                channels[ch] = PagerDutyNotifier(value, url=env.get("SOAR_PAGERDUTY_URL") or EVENTS_URL, client=client)
            elif (ch := named(var, "SOAR_SMTP_TO", "email")) is not None:
                channels[ch] = EmailNotifier(
                    env.get("SOAR_SMTP_HOST", "localhost"),
                    int(env.get("SOAR_SMTP_PORT", "25")),
                    env.get("SOAR_SMTP_FROM", "soar@localhost"),
                    [a.strip() for a in value.split(",") if a.strip()],
                    username=env.get("SOAR_SMTP_USER", ""),
                    password=env.get("SOAR_SMTP_PASSWORD", ""),
                    starttls=env.get("SOAR_SMTP_STARTTLS", "").lower() in _TRUE,
                )
            elif var.startswith("SOAR_NOTIFY_FALLBACK_"):
                fallbacks[var.removeprefix("SOAR_NOTIFY_FALLBACK_").lower()] = value.strip().lower()
        return cls(channels, fallbacks)


__all__ = [
    "DEFAULT_CHANNEL",
    "NOTIFIERS",
    "Delivery",
    "EmailNotifier",
    "Notifier",
    "Notifiers",
    "PagerDutyNotifier",
    "SlackNotifier",
    "WebhookNotifier",
]
