"""Leave and rejoin the consumer group, from any thread.

aiokafka has no public call for it; its group coordinator rejoins when
``request_rejoin`` is called (as it does itself when the subscription
changes). The rejoin makes the group rebalance, and Faust then starts
table recovery again from the offsets it has applied, seeking every
changelog partition anew: what the recovery watchdog (:mod:`app.watchdog`)
does when recovery stops reading.
"""

from __future__ import annotations

from typing import Any


def request_rejoin(consumer_thread: Any) -> None:
    """Ask the aiokafka consumer run by Faust's ``consumer_thread`` to rejoin its group.

    The coordinator's state belongs to the consumer thread's event loop
    (the worker's own with the consumer on the loop), so it is asked there.
    """
    coordinator = consumer_thread._ensure_consumer()._coordinator
    consumer_thread.thread_loop.call_soon_threadsafe(coordinator.request_rejoin)
