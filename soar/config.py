"""Settings, read from the environment (prefix ``SOAR_``) with defaults for the embedded setup."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Tier(StrEnum):
    """Zero Trust maturity tier; policy strictness follows it."""

    FOUNDATION = "foundation"
    ADVANCED = "advanced"
    OPTIMIZED = "optimized"


class Settings(BaseSettings):
    """Every knob soar reads. ``SOAR_<NAME>`` overrides each field."""

    model_config = SettingsConfigDict(env_prefix="SOAR_", extra="ignore")

    data_dir: Path = Field(default=Path(".soar"), description="where local state lives (db, keys, faust data)")
    database_url: str = Field(default="", description="SQLAlchemy async URL; default: SQLite in data_dir")
    broker: str = Field(default="127.0.0.1:19092", description="Kafka bootstrap servers, comma separated")
    broker_port: int = Field(default=19092, description="port for the embedded broker (soar broker / dev)")
    partitions: int = 4
    topic_telemetry: str = "soar.telemetry"
    topic_findings: str = "soar.findings"
    topic_control: str = "soar.control"
    topic_deadletter: str = "soar.deadletter"
    app_id: str = "soar"
    engine: str = Field(default="fast", pattern="^(fast|faust)$", description="worker engine: fast or faust")
    worker_role: str = Field(
        default="all",
        pattern="^(all|detect|respond)$",
        description="fast engine: all (both loops), detect (telemetry loop only) or respond (findings loop only)",
    )
    # Latency knobs (see docs/performance.md and shared STACK.md): faust hard-codes a 1.5 s fetch wait,
    # and the embedded broker answers long-polls late, so the worker sets its own short wait.
    fetch_max_wait_ms: int = 20
    # records per batch at most: a fetch returns what is buffered, so below saturation batches stay small (and an
    # attack is not held back); under load 2,048 pays the per-batch costs (round trips, the helper's hand-offs,
    # batch scoring) a quarter as often as 512 did: +27% good events/s under the flood, +8% in bench pipeline
    batch_max: int = 2048
    batch_within_s: float = 0.005
    respond_batches_in_flight: int = Field(
        default=4, ge=1, description="findings batches the responder handles at a time (never two naming one agent)"
    )
    verify_threads: int = Field(default=2, ge=1, description="threads checking a batch's signatures (no GIL)")
    helper_process: bool = Field(
        default=True,
        description="fast engine: check and score the next batch in a helper process while this one is detected",
    )
    helper_min_batch: int = Field(
        default=64,
        ge=1,
        description="fast engine: a batch of fewer records is checked and scored in the worker itself (below "
        "saturation batches are small, and the round trip to the helper costs them more than the work it moves)",
    )
    gc_young_threshold: int = Field(
        default=50_000,
        ge=700,
        description="fast engine: container objects allocated (net) before the collector's young pass (Python's "
        "default 700: a batch of 2,048 events, alive through ~100 such passes, was promoted and walked again)",
    )
    session_timeout_s: float = 10.0
    heartbeat_s: float = 1.0
    worker_web_port: int = 0  # 0: no faust web server
    api_host: str = "127.0.0.1"
    api_port: int = 8700
    tier: Tier = Tier.FOUNDATION
    max_event_bytes: int = 256 * 1024
    max_json_depth: int = 32
    max_clock_skew_s: float = 300.0
    signature_cache_size: int = Field(
        default=8192,
        ge=0,
        description="signature verdicts a worker keeps, each with the key and bytes it checked: a record sent "
        "again is not checked again (0: off)",
    )
    state_max_keys: int = Field(
        default=500_000,
        ge=1000,
        description="detector state keys a fast worker keeps in memory (per agent, per memory key, ...); the least "
        "recently used are dropped past it, so hostile streams of new agent ids cannot grow a worker without bound",
    )
    identity_fold_s: float = Field(
        default=60.0, ge=0, description="repeated identity rejections (agent, rule) fold into one finding per window"
    )
    playbooks_dir: Path = ROOT / "playbooks"
    detectors_dir: Path = ROOT / "detectors"
    token_ttl_s: int = 300
    admin_token: str = Field(default="", description="bearer token for operator API calls; empty: generated")
    operators_file: Path | None = Field(default=None, description="operator tokens and roles (YAML)")
    trace_dir: Path | None = Field(
        default=None, description="fast engine: append timing lines here (soar bench contain --breakdown)"
    )
    webhook_secret: str = Field(default="soar-dev-webhook-secret", description="HMAC key for webhook notifier")

    @property
    def db_url(self) -> str:
        """The database URL, defaulting to a SQLite file in data_dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'soar.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
