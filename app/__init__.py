"""The txwatch Faust application.

``faust -A app worker -l info`` starts a worker. Faust's own settings come
from the environment (``BROKER_URL``, ``WEB_PORT``, ``APP_STORE``, ...) and
override the defaults below; txwatch's own settings are in
:mod:`app.settings`.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.sensors.prometheus import setup_prometheus_sensors

from app.consumer import use_txwatch_consumer
from app.patches.changelog_rereads import TableManager
from app.patches.early_web import start_web_at_first_assignment
from app.patches.fetch_policy import FetchPolicy
from app.patches.lean_monitor import LeanPrometheusMonitor
from app.patches.upstream import check_upstream
from app.settings import Settings
from app.streams import Stream
from web.middleware import json_errors

# Before anything relies on them: the private parts of Faust, mode and
# aiokafka txwatch uses must all be there (app/patches/upstream.py).
check_upstream()
settings = Settings.from_env()


def faust_defaults() -> dict[str, Any]:
    """Faust settings txwatch chooses; each is overridden by its environment variable."""
    return {
        "broker": "kafka://127.0.0.1:9092",  # BROKER_URL
        "store": "rocksdb://",  # APP_STORE (unit tests use memory://)
        "topic_partitions": 8,  # TOPIC_PARTITIONS
        "web_port": 6066,  # WEB_PORT
        # Loopback by default: a worker must be exposed on purpose. Set
        # WEB_BIND=0.0.0.0 and WEB_HOST to an address other workers reach
        # when running several hosts, or table views cannot be routed.
        "web_bind": "127.0.0.1",  # WEB_BIND
        "web_host": "127.0.0.1",  # WEB_HOST
        "web_tables_enabled": False,  # APP_WEB_TABLES_ENABLED: raw table dumps
        # Batching the producer matters on the changelog path (DESIGN.md).
        "producer_linger": 0.01,  # PRODUCER_LINGER (seconds)
        # The agent hands over one batch per partition and batch of events.
        "producer_max_batch_size": 256 * 1024,  # PRODUCER_MAX_BATCH_SIZE (bytes)
        "table_standby_replicas": 1,  # TABLE_STANDBY_REPLICAS
        # Faust's 5 minutes: a topic missing from the consumer's metadata when
        # partitions are assigned (just created) was not read for that long.
        "consumer_metadata_max_age_ms": 30_000,  # CONSUMER_METADATA_MAX_AGE_MS
        # Error answers in JSON everywhere, and request bodies no larger
        # than a transaction needs (aiohttp answers 413 beyond it).
        "web_application_options": {
            "middlewares": [json_errors],
            "client_max_size": 128 * 1024,
        },
    }


app = faust.App(
    settings.app_id,
    # Agents' streams can take batches as they arrive (app/streams.py).
    Stream=Stream,
    # Table recovery leaves out changelog records marked stale at a clearing
    # (app/patches/changelog_rereads.py).
    TableManager=TableManager,
    **faust_defaults(),
)
# Faust's consumer with seven changes, one module each in app/patches/:
# records dropped at a rebalance are read again, so are those dropped when
# Faust clears the streams' buffers, changelog records included, messages
# are handed over without tasks, its livelock check no longer crashes on a
# partition being reset, how long the broker may hold a fetch is a setting,
# and it runs on the worker's event loop instead of a thread of its own
# unless told otherwise (app/consumer.py).
use_txwatch_consumer(
    app,
    FetchPolicy(settings.fetch_min_bytes, settings.fetch_max_wait_ms),
    on_loop=settings.consumer_on_loop,
)
# GET /metrics: Faust's sensor (streams, topics, tables, commits) in
# Prometheus form, with txwatch's own metrics (app/metrics.py) beside it;
# the sensor's per-message hooks are slimmed (app/patches/lean_monitor.py).
setup_prometheus_sensors(app, pattern="/metrics", name_prefix="faust")
# /health and /metrics answer while tables recover, not only once they have
# (app/patches/early_web.py); table views answer 503 until then.
start_web_at_first_assignment(app)
app.monitor = LeanPrometheusMonitor(metrics=app.monitor._metrics)

# Registered by import, not by Faust's autodiscovery: autodiscovery logs an
# import error as a warning and starts the worker without the broken module.
from agents import labels, merchants, score, sink  # noqa: E402, F401
from app import collector, commands, watchdog  # noqa: E402, F401
from tables import merchants as merchants_table  # noqa: E402, F401
from tables import users as users_table  # noqa: E402, F401
from web import anomalies, health, index, model, scoring, stats, users  # noqa: E402, F401
from web import merchants as merchant_views  # noqa: E402, F401

__all__ = ["app", "settings"]
