"""txwatch's own settings, read once from the environment.

Faust's settings (BROKER_URL, WEB_PORT, APP_STORE, ...) are read by Faust
itself; see :func:`app.faust_defaults` for the defaults txwatch gives them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from app.errors import ConfigurationError

DEFAULT_DATABASE_URL = "postgresql://txwatch@127.0.0.1:55432/txwatch"
ALERT_LEVELS = ("MEDIUM", "HIGH", "CRITICAL")


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ConfigurationError(f"{name}={value} must be at least {minimum}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (env.get(name) or default).upper()
    if value not in choices:
        raise ConfigurationError(f"{name}={value!r}: choose one of {', '.join(choices)}")
    return value


def _share(env: Mapping[str, str], name: str) -> float | None:
    """A share of traffic, written as 0.01 or 1%; None when unset."""
    raw = (env.get(name) or "").strip()
    if raw == "":
        return None
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a share such as 0.01 or 1%") from None
    if not 0.0001 <= value <= 0.5:
        raise ConfigurationError(f"{name}={raw!r}: the share must be from 0.01% to 50%")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name}={raw!r}: use true or false")


@dataclass(frozen=True)
class Settings:
    """Everything txwatch reads from the environment besides Faust's own settings."""

    app_id: str = "txwatch"
    topic_prefix: str = ""
    database_url: str = DEFAULT_DATABASE_URL
    rocksdb_cache_mb: int = 16
    rocksdb_write_buffer_mb: int = 4
    model_path: str = "model/txwatch-model.npz"
    alert_level: str = "HIGH"
    # The share of traffic to alert on, instead of a level (models/risk.py).
    alert_budget: float | None = None
    db_pool_size: int = 4
    db_statement_timeout_ms: int = 5000
    sink_batch_size: int = 500
    sink_batch_ms: int = 200
    db_probe_seconds: int = 5
    # Hours an alerted transaction is held out of the user's habits without a label;
    # 0: learnt at once (models/holding.py).
    hold_hours: int = 0
    # Merchants' fraud records (agents/merchants.py): counted and read by scoring, or not.
    merchant_state: bool = True
    # Seconds the scoring agent adds up merchants' counts before sending them.
    merchant_flush_seconds: int = 60
    # How often the alerts' precision is measured from the labels (agents/labels.py).
    precision_seconds: int = 30
    batch_size: int = 2000
    gc_threshold: int = 50_000
    fetch_min_bytes: int = 1  # Faust's: the broker answers a fetch at the first record
    fetch_max_wait_ms: int = 1500  # Faust's
    consumer_on_loop: bool = True  # Faust's way (false): the consumer in a thread of its own
    # Table recovery reading nothing new for this long is a stall (app/watchdog.py).
    recovery_stall_seconds: int = 60

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``env`` (default: the process environment).

        Raises :class:`ConfigurationError` naming the variable at fault.
        """
        env = os.environ if env is None else env
        app_id = env.get("TXWATCH_APP_ID") or cls.app_id
        if not app_id.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise ConfigurationError(
                f"TXWATCH_APP_ID={app_id!r}: use letters, digits, '-', '_' and '.' only"
            )
        return cls(
            app_id=app_id,
            topic_prefix=env.get("TXWATCH_TOPIC_PREFIX", cls.topic_prefix),
            database_url=env.get("DATABASE_URL") or cls.database_url,
            rocksdb_cache_mb=_int(env, "TXWATCH_ROCKSDB_CACHE_MB", cls.rocksdb_cache_mb, 1),
            rocksdb_write_buffer_mb=_int(
                env, "TXWATCH_ROCKSDB_WRITE_BUFFER_MB", cls.rocksdb_write_buffer_mb, 1
            ),
            model_path=env.get("TXWATCH_MODEL_PATH") or cls.model_path,
            alert_level=_choice(env, "TXWATCH_ALERT_LEVEL", cls.alert_level, ALERT_LEVELS),
            alert_budget=_share(env, "TXWATCH_ALERT_BUDGET"),
            db_pool_size=_int(env, "TXWATCH_DB_POOL_SIZE", cls.db_pool_size, 1),
            db_statement_timeout_ms=_int(
                env, "TXWATCH_DB_STATEMENT_TIMEOUT_MS", cls.db_statement_timeout_ms, 1
            ),
            sink_batch_size=_int(env, "TXWATCH_SINK_BATCH_SIZE", cls.sink_batch_size, 1),
            sink_batch_ms=_int(env, "TXWATCH_SINK_BATCH_MS", cls.sink_batch_ms, 1),
            db_probe_seconds=_int(env, "TXWATCH_DB_PROBE_SECONDS", cls.db_probe_seconds, 1),
            hold_hours=_int(env, "TXWATCH_HOLD_HOURS", cls.hold_hours, 0),
            merchant_state=_bool(env, "TXWATCH_MERCHANT_STATE", cls.merchant_state),
            merchant_flush_seconds=_int(
                env, "TXWATCH_MERCHANT_FLUSH_SECONDS", cls.merchant_flush_seconds, 0
            ),
            precision_seconds=_int(env, "TXWATCH_PRECISION_SECONDS", cls.precision_seconds, 1),
            batch_size=_int(env, "TXWATCH_BATCH_SIZE", cls.batch_size, 1),
            gc_threshold=_int(env, "TXWATCH_GC_THRESHOLD", cls.gc_threshold, 0),
            fetch_min_bytes=_int(env, "TXWATCH_FETCH_MIN_BYTES", cls.fetch_min_bytes, 1),
            fetch_max_wait_ms=_int(env, "TXWATCH_FETCH_MAX_WAIT_MS", cls.fetch_max_wait_ms, 1),
            consumer_on_loop=_bool(env, "TXWATCH_CONSUMER_ON_LOOP", cls.consumer_on_loop),
            recovery_stall_seconds=_int(
                env, "TXWATCH_RECOVERY_STALL_SECONDS", cls.recovery_stall_seconds, 5
            ),
        )

    def topic(self, name: str) -> str:
        """The full name of one of txwatch's topics (``transactions``, ``alerts``, ...)."""
        return f"{self.topic_prefix}{name}"
