"""``soar api``: run the API under uvicorn, programmatically (127.0.0.1 unless ``settings.api_host`` says otherwise)."""

from __future__ import annotations

import os

import uvicorn

from soar.api.app import create_app
from soar.config import Settings, get_settings


def server(settings: Settings | None = None, db_url: str | None = None) -> uvicorn.Server:
    """A configured, not yet started uvicorn server for the API."""
    settings = settings or get_settings()
    app = create_app(settings, db_url)
    config = uvicorn.Config(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_level="info",
        # One line per request costs more than an authorize decision; SOAR_API_ACCESS_LOG=0 turns it off.
        access_log=os.environ.get("SOAR_API_ACCESS_LOG", "1") != "0",
        proxy_headers=False,
        server_header=False,
    )
    return uvicorn.Server(config)


def serve(settings: Settings | None = None, db_url: str | None = None) -> None:
    """Run the API until interrupted (blocking; for the CLI)."""
    server(settings, db_url).run()


async def serve_async(settings: Settings | None = None, db_url: str | None = None) -> None:
    """Run the API in the current event loop (for ``soar dev``, next to the worker)."""
    await server(settings, db_url).serve()
