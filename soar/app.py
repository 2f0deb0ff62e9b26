"""The one ``faust.App`` and its topics.

Latency (see docs/performance.md): faust hard-codes ``fetch_max_wait_ms=1500`` in its aiokafka driver
and the embedded broker answers long-polls late, so each hop would cost up to ~1.3 s. ``SoarApp``
swaps in a transport whose worker consumer uses ``settings.fetch_max_wait_ms`` instead (aiokafka
reads the attribute when the consumer starts). Apache Kafka answers fetches as soon as data arrives,
so there the short wait only costs idle polling.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka

from soar.config import Settings, get_settings


class _ShortWaitConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = get_settings().fetch_max_wait_ms
        return consumer


class _ShortWaitConsumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ShortWaitConsumerThread(self, loop=self.loop, beacon=self.beacon)


class ShortWaitTransport(faust_aiokafka.Transport):
    """aiokafka transport whose consumer long-polls for ``settings.fetch_max_wait_ms`` at most."""

    Consumer = _ShortWaitConsumer


class SoarApp(faust.App):
    """faust.App using :class:`ShortWaitTransport`."""

    def _new_transport(self) -> Any:
        return ShortWaitTransport(self.conf.broker_consumer, self)


def _make_app(s: Settings) -> SoarApp:
    s.data_dir.mkdir(parents=True, exist_ok=True)
    return SoarApp(
        s.app_id,
        broker=[f"kafka://{b.strip()}" for b in s.broker.split(",")],
        origin="soar",
        autodiscover=False,  # soar.worker imports the agent modules explicitly
        datadir=str((s.data_dir / "faust").resolve()),
        store="memory://",
        web_enabled=False,
        web_host="127.0.0.1",
        web_port=s.worker_web_port or 6066,
        broker_session_timeout=s.session_timeout_s,
        broker_rebalance_timeout=s.session_timeout_s,
        broker_heartbeat_interval=s.heartbeat_s,
        producer_linger=0.002,
        topic_partitions=s.partitions,
        topic_replication_factor=1,
        table_standby_replicas=0,
        consumer_auto_offset_reset="earliest",
        stream_wait_empty=False,
        worker_redirect_stdouts=False,
    )


settings = get_settings()
app = _make_app(settings)


def _raw_topic(name: str, partitions: int) -> faust.TopicT:
    """A topic of raw bytes (keys are agent ids): parsing happens in the pipeline, where bad input is dead-lettered."""
    return app.topic(
        name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw", partitions=partitions
    )


telemetry_topic = _raw_topic(settings.topic_telemetry, settings.partitions)
findings_topic = _raw_topic(settings.topic_findings, settings.partitions)
control_topic = _raw_topic(settings.topic_control, settings.partitions)
deadletter_topic = _raw_topic(settings.topic_deadletter, 1)
#: per-agent detector state, changelog-backed; keys start with the agent id (see soar.detect.base)
agent_to_state = app.Table("agent_to_state", default=None, partitions=settings.partitions, use_partitioner=True)
