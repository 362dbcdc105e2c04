"""Python's garbage collector, tuned for a long-running stream worker.

CPython runs a young-generation collection every 700 net allocations and,
every hundred of those, a full one over every live object. A worker holds
a large heap that lives as long as it does (Faust, aiokafka, the web
server, the model) and allocates a few short-lived objects per event,
nearly all freed by reference counting. On the bench the collector took
about 4-5% of a worker's time, mostly re-scanning that long-lived heap.

So once the worker has started, what exists is moved out of the
collector's sight (:func:`gc.freeze`), and young collections run every
``TXWATCH_GC_THRESHOLD`` allocations instead. Cycles are still collected;
0 leaves Python's defaults.
"""

from __future__ import annotations

import gc
import logging

from app import app, settings

logger = logging.getLogger(__name__)


def tune_garbage_collection(threshold: int) -> None:
    """Freeze the objects alive now and collect the young generation every ``threshold``.

    Does nothing when ``threshold`` is 0.
    """
    if threshold <= 0:
        return
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(threshold, middle, old)


@app.task
async def tune_collector_after_start() -> None:
    """Tune the collector once the worker's long-lived objects exist."""
    tune_garbage_collection(settings.gc_threshold)
    if settings.gc_threshold:
        logger.info(
            "garbage collection: %d objects frozen, young generation every %d allocations",
            gc.get_freeze_count(),
            settings.gc_threshold,
        )
