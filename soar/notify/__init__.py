"""Notifiers: the registry of notifier kinds (separate from actions) and ``Notifiers``, the configured channels.

Channels come from the environment: ``SOAR_WEBHOOK_URL`` is channel ``oncall``; ``SOAR_WEBHOOK_URL_<NAME>``
adds channel ``<name>`` (lower-cased). Every webhook is signed with ``settings.webhook_secret``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import httpx

from soar.config import Settings, get_settings
from soar.errors import NotifyError
from soar.notify.base import Delivery, Notifier
from soar.notify.webhook import WebhookNotifier
from soar.registry import Registry

NOTIFIERS: Registry[type[Notifier]] = Registry("notifier")
NOTIFIERS.add(WebhookNotifier)

DEFAULT_CHANNEL = "oncall"


class Notifiers:
    """The configured channels: channel name -> notifier instance."""

    def __init__(self, channels: Mapping[str, Notifier] | None = None) -> None:
        self.channels: dict[str, Notifier] = dict(channels or {})

    def get(self, channel: str) -> Notifier:
        """The notifier for ``channel``; NotifyError names the configured ones."""
        try:
            return self.channels[channel]
        except KeyError:
            known = ", ".join(sorted(self.channels)) or "none"
            raise NotifyError(f"no notifier configured for channel {channel!r}; configured: {known}") from None

    def __contains__(self, channel: object) -> bool:
        return channel in self.channels

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        environ: Mapping[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> Notifiers:
        """Channels from ``SOAR_WEBHOOK_URL`` (oncall) and ``SOAR_WEBHOOK_URL_<NAME>``, signed with the secret."""
        settings = settings or get_settings()
        env = os.environ if environ is None else environ
        channels: dict[str, Notifier] = {}
        for var, url in env.items():
            if not url:
                continue
            if var == "SOAR_WEBHOOK_URL":
                channel = DEFAULT_CHANNEL
            elif var.startswith("SOAR_WEBHOOK_URL_"):
                channel = var.removeprefix("SOAR_WEBHOOK_URL_").lower()
            else:
                continue
            channels[channel] = WebhookNotifier(url, settings.webhook_secret, client=client)
        return cls(channels)


__all__ = ["DEFAULT_CHANNEL", "NOTIFIERS", "Delivery", "Notifier", "Notifiers", "WebhookNotifier"]
