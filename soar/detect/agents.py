"""Faust glue for ingest -> verify -> detect: ``detect_threats`` reads telemetry in batches."""

from __future__ import annotations

from soar.app import agent_to_state, app, deadletter_topic, findings_topic, settings, telemetry_topic
from soar.detect.state import TableState
from soar.ingest.decoders import RawRecord
from soar.runtime import WorkerRuntime

runtime = WorkerRuntime(settings, TableState(agent_to_state))


async def _send_finding(key: bytes | None, value: bytes) -> None:
    await findings_topic.send(key=key, value=value)


async def _send_dead(key: bytes | None, value: bytes) -> None:
    await deadletter_topic.send(key=key, value=value)


@app.task
async def load_directory_on_start() -> None:
    """Load enrolled agents and keys before the first batch."""
    await runtime.refresh_directory()


@app.timer(interval=1.0)
async def refresh_directory() -> None:
    """Pick up enrollments, key revocations and quarantine changes."""
    await runtime.refresh_directory(min_interval=0.9)


@app.agent(telemetry_topic)
async def detect_threats(stream):  # type: ignore[no-untyped-def]
    """Verify and score telemetry, a batch at a time; bad input is dead-lettered, never fatal."""
    state = runtime.pipeline.state
    async for events in stream.take_events(settings.batch_max, within=settings.batch_within_s):
        records = [
            RawRecord(e.message.value, e.message.topic, e.message.partition, e.message.offset, e.message.key)
            for e in events
        ]
        await runtime.handle_telemetry(records, _send_finding, _send_dead)
        if isinstance(state, TableState):
            state.flush()
