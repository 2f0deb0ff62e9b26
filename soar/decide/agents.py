"""Faust glue for decide -> act: ``respond`` runs playbooks for findings and publishes control commands."""

from __future__ import annotations

from soar.app import app, control_topic, findings_topic
from soar.detect.agents import runtime
from soar.telemetry.control import ControlCommand


async def _publish(cmd: ControlCommand) -> None:
    await control_topic.send(key=cmd.agent_id.encode(), value=cmd.model_dump_json().encode())


runtime.start_responder(_publish)


@app.task
async def resume_runs() -> None:
    """Resume playbook runs a previous process left unfinished."""
    assert runtime.responder is not None
    await runtime.responder.resume()


@app.agent(findings_topic)
async def respond(stream):  # type: ignore[no-untyped-def]
    """Match findings to playbooks and run them (durable, idempotent)."""
    async for values in stream.take(256, within=0.002):
        await runtime.handle_findings(values)
