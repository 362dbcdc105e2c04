"""The recovery watchdog: a worker whose table recovery stops reading says so and rejoins.

Every :data:`CHECK_INTERVAL` seconds it shows a
:class:`app.recovery_watch.RecoveryWatch` how many changelog records
recovery still has to read per active partition. When none of them has
moved for ``TXWATCH_RECOVERY_STALL_SECONDS`` (default 60):

- ``GET /health`` answers 503 naming the partitions (:func:`recovery_report`);
- ``/metrics`` has ``txwatch_recovery_stalled`` = 1 and
  ``txwatch_recovery_stall_seconds``;
- the worker leaves and rejoins the consumer group, which starts recovery
  again from what it has applied (:mod:`app.patches.group_rejoin`), once
  per bound for as long as the stall lasts; ``txwatch_recovery_rejoins``
  counts them.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Final

from prometheus_client import Counter, Gauge

from app import app, settings
from app.patches.early_web import recovering
from app.patches.group_rejoin import request_rejoin
from app.recovery_watch import RecoveryWatch, Stall

logger = logging.getLogger(__name__)

#: Seconds between two looks at recovery.
CHECK_INTERVAL: Final = 5.0

STALLED = Gauge("txwatch_recovery_stalled", "1 while table recovery reads nothing new, else 0")
STALL_SECONDS = Gauge(
    "txwatch_recovery_stall_seconds", "How long table recovery has read nothing new (0: no stall)"
)
REJOINS = Counter(
    "txwatch_recovery_rejoins", "Times the worker rejoined its group to restart a stalled recovery"
)


class WatchdogState:
    """What the watchdog last saw, for ``/health``."""

    def __init__(self, bound: float) -> None:
        self.watch = RecoveryWatch(bound=bound)
        self.stall: Stall | None = None
        self.rejoined_at: float | None = None
        self.rejoins = 0
        self.started = False


state = WatchdogState(settings.recovery_stall_seconds)


def check_recovery(now: float) -> Stall | None:
    """Look at the app's table recovery once; rejoin the group if it has stalled."""
    recovery = app.tables.recovery
    remaining = {f"{tp.topic}:{tp.partition}": n for tp, n in recovery.active_remaining().items()}
    stall = state.watch.observe(now, in_recovery=recovery.in_recovery, remaining=remaining)
    state.stall = stall
    STALLED.set(1 if stall else 0)
    STALL_SECONDS.set(stall.seconds if stall else 0)
    if stall is None:
        state.rejoined_at = None
        return None
    bound = state.watch.bound
    if state.rejoined_at is None or now - state.rejoined_at > bound:
        logger.error(
            "table recovery has read nothing on %s for %.0f s: rejoining the group to restart it",
            ", ".join(stall.partitions) or "any partition",
            stall.seconds,
        )
        request_rejoin(app.consumer._thread)
        state.rejoined_at = now
        state.rejoins += 1
        REJOINS.inc()
    return stall


def busy_recovering() -> bool:
    """Whether the worker is rebalancing or recovering its tables (not yet processing)."""
    return bool(app.rebalancing) or recovering(app)


def recovery_report() -> tuple[str | None, dict[str, Any]]:
    """A problem for ``/health`` if recovery has stalled, and what the watchdog says."""
    stall = state.stall
    report: dict[str, Any] = {
        "state": "stalled" if stall else "recovering" if busy_recovering() else "ok",
        "stall_bound_seconds": state.watch.bound,
        "rejoins": state.rejoins,
    }
    if stall is None:
        return None, report
    report |= {"stalled_partitions": list(stall.partitions), "stalled_seconds": stall.seconds}
    problem = (
        f"table recovery has read nothing for {stall.seconds:.0f} s on "
        f"{', '.join(stall.partitions) or 'any partition'}; rejoining the group"
    )
    return problem, report


async def watch_recovery() -> None:
    """Check table recovery's progress for as long as the worker runs."""
    while not app.should_stop:
        try:
            check_recovery(time.monotonic())
        except Exception:  # one failed look (a rejoin refused) must not end the watch
            logger.exception("the recovery watchdog's check failed; looking again")
        await app.sleep(CHECK_INTERVAL)


@app.on_partitions_assigned.connect
async def start_watching(sender: Any, *args: Any, **kwargs: Any) -> None:
    """Start the watchdog at the first assignment: Faust's timers start only after
    the first recovery has completed, too late to watch it."""
    if not state.started:
        state.started = True
        app.add_future(watch_recovery())
