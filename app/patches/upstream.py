"""The private parts of Faust, mode and aiokafka txwatch relies on, checked at start-up.

txwatch changes some of their behaviour (see :mod:`app.patches`) and reads
a few of their private attributes for speed. A release that renames one
would otherwise make a worker degrade without a word; instead the app
refuses to load, naming each missing part and who needs it
(:func:`check_upstream`, called by :mod:`app` on import). The versions
txwatch is tested with are pinned in ``constraints.txt`` (used by
``make``); others only get a warning, since the check above is what
decides.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import re
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from app.errors import IncompatibleDependency

logger = logging.getLogger(__name__)

#: The versions txwatch is tested with (the pins of constraints.txt).
TESTED = {
    "faust-streaming": "0.15.3",
    "mode-streaming": "0.7.1",
    "aiokafka": "0.14.0",
    "rocksdict": "0.3.29",
}


@dataclass(frozen=True)
class Private:
    """A private attribute or method of ``owner`` (``module:Class``) that ``user`` relies on."""

    owner: str
    name: str
    user: str


_CONSUMER = "faust.transport.consumer:Consumer"
_THREAD = "faust.transport.drivers.aiokafka:AIOKafkaConsumerThread"
_RECOVERY = "faust.tables.recovery:Recovery"
_QUEUE_THREAD = "mode.threads:QueueServiceThread"

REQUIRED: tuple[Private, ...] = (
    Private(_CONSUMER, "_committed_offset", "agents/score.py (verdicts kept until committed)"),
    Private(_CONSUMER, "_read_offset", "web/stats.py (lag)"),
    Private(_CONSUMER, "_stopped", "app/patches/eager_handover.py"),
    Private(_CONSUMER, "_crashed", "app/patches/eager_handover.py"),
    Private("faust.transport.consumer:ThreadDelegateConsumer", "_thread", "app/watchdog.py"),
    Private(_THREAD, "_create_worker_consumer", "app/patches/fetch_policy.py"),
    Private(_THREAD, "_ensure_consumer", "app/patches (several)"),
    Private("aiokafka:AIOKafkaConsumer", "_fetch_min_bytes", "app/patches/fetch_policy.py"),
    Private("aiokafka:AIOKafkaConsumer", "_fetch_max_wait_ms", "app/patches/fetch_policy.py"),
    Private("aiokafka:AIOKafkaConsumer", "_fetcher", "app/patches/livelock_check.py"),
    Private("aiokafka:AIOKafkaConsumer", "_coordinator", "app/patches/group_rejoin.py"),
    Private("aiokafka.consumer.fetcher:Fetcher", "_subscriptions", "app/patches/livelock_check.py"),
    Private(
        "aiokafka.consumer.group_coordinator:GroupCoordinator",
        "request_rejoin",
        "app/patches/group_rejoin.py",
    ),
    Private("faust.tables.manager:TableManager", "_changelog_queue", "app/patches"),
    Private(_RECOVERY, "active_offsets", "app/patches/changelog_rereads.py, app/watchdog.py"),
    Private(_RECOVERY, "standby_offsets", "app/patches/changelog_rereads.py"),
    Private(_RECOVERY, "active_remaining", "app/watchdog.py"),
    Private(_RECOVERY, "completed", "app/patches/early_web.py"),
    Private("faust.app.base:App", "on_started_init_web_server", "app/patches/early_web.py"),
    Private("faust.app.router:Router", "_route_req", "web/routing.py"),
    Private("faust.transport.drivers.aiokafka:Producer", "_ensure_producer", "agents/score.py"),
    Private("faust.stores.rocksdb:Store", "_db_for_partition", "tables/store.py"),
    Private("faust.stores.rocksdb:Store", "set_persisted_offset", "tables/store.py"),
    Private("faust.stores.memory:Store", "data", "tables/store.py (memory:// store)"),
    Private("faust.streams:Stream", "_enable_passive", "app/streams.py (take_arrived)"),
    Private(
        "faust.sensors.prometheus:PrometheusMonitor", "_metrics", "app/patches/lean_monitor.py"
    ),
    # Methods the patches override: renamed upstream, an override would do nothing.
    Private(_CONSUMER, "getmany", "app/patches/clearing_rereads.py"),
    Private(_CONSUMER, "perform_seek", "app/patches/clearing_rereads.py"),
    Private(_CONSUMER, "_drain_messages", "app/patches/eager_handover.py (the fetch loop)"),
    Private("mode.services:Service", "wait_first", "app/patches/eager_handover.py"),
    Private(_THREAD, "seek_to_committed", "app/patches/rewind_never_committed.py"),
    Private(_THREAD, "verify_event_path", "app/patches/livelock_check.py"),
    Private("faust.tables.manager:TableManager", "changelog_queue", "app/patches"),
    Private("mode.utils.queues:FlowControlEvent", "manage_queue", "clearing_rereads.py"),
    Private("faust.sensors.prometheus:PrometheusMonitor", "on_message_in", "lean_monitor.py"),
    Private(_QUEUE_THREAD, "_thread_started", "app/patches/consumer_on_loop.py"),
    Private(_QUEUE_THREAD, "_thread_running", "app/patches/consumer_on_loop.py"),
    Private(_QUEUE_THREAD, "_serve", "app/patches/consumer_on_loop.py"),
    Private(_QUEUE_THREAD, "_gather_remaining_tasks", "app/patches/consumer_on_loop.py"),
)


@cache
def _module_text(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _source(cls: type) -> str:
    # The whole module's text, read once per file: inspect.getsource of a
    # class parses its module each time (about 20 ms a class, 0.2 s in all
    # at every start). An attribute assigned to ``self`` elsewhere in the
    # module counts too; the check is for renames, which remove it from both.
    try:
        path = inspect.getsourcefile(cls)
    except TypeError:  # built in
        return ""
    return _module_text(path) if path else ""


def has_member(cls: type, name: str) -> bool:
    """Whether ``cls`` has ``name``: as a class attribute, or assigned to ``self``
    in the module of a class of its MRO (instance attributes exist only once built)."""
    if hasattr(cls, name):
        return True
    assigned = re.compile(rf"self\.{re.escape(name)}\s*(:[^=\n]+)?=[^=]")
    return any(assigned.search(_source(klass)) for klass in inspect.getmro(cls))


def missing(required: tuple[Private, ...] = REQUIRED) -> list[str]:
    """Each part of ``required`` the installed libraries lack, with who needs it."""
    gone = []
    for part in required:
        module, _, qualname = part.owner.partition(":")
        try:
            owner = getattr(importlib.import_module(module), qualname)
        except (ImportError, AttributeError):
            gone.append(f"{part.owner} itself (needed for {part.name} by {part.user})")
            continue
        if not has_member(owner, part.name):
            gone.append(f"{part.owner}.{part.name} (used by {part.user})")
    return gone


def untested_versions() -> list[str]:
    """Each pinned library installed at another version than ``TESTED``."""
    found = []
    for name, tested in TESTED.items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "none"
        if installed != tested:
            found.append(f"{name} {installed} (tested: {tested})")
    return found


def check_upstream() -> None:
    """Refuse to go on if a private part txwatch relies on is missing; warn of untested versions.

    Raises :class:`IncompatibleDependency` naming every missing part.
    """
    gone = missing()
    if gone:
        raise IncompatibleDependency(
            "the installed Faust, mode or aiokafka lacks what txwatch relies on: "
            + "; ".join(gone)
            + ". Install the versions pinned in constraints.txt."
        )
    others = untested_versions()
    if others:
        logger.warning("untested library versions: %s (see constraints.txt)", ", ".join(others))
