"""The web server starts at the first partition assignment, not after the first recovery.

Faust starts its web server (and its timers) only once the first table
recovery has completed (``App.on_started``), so that no table view answers
from half-recovered tables. A worker replaying a large changelog, or one
whose recovery had stalled (issue 23), then answered nothing at all, not
even ``/health``: an operator could not tell a slow start from a hung one.

Here the server starts as soon as the worker has its first partitions,
with ``App.on_started_init_web_server``, which Faust calls again later and
which starts the server only once. Table views answer 503 until recovery
has completed instead (:func:`recovering`, used by :mod:`web.routing`).
"""

from __future__ import annotations

from typing import Any

import faust


def recovering(app: faust.App) -> bool:
    """Whether ``app``'s tables are being recovered (or have never been yet)."""
    recovery = app.tables.recovery
    return not recovery.completed.is_set() or recovery.in_recovery


def start_web_at_first_assignment(app: faust.App) -> None:
    """Have ``app`` start its web server when partitions are first assigned to it."""

    @app.on_partitions_assigned.connect
    async def start_web_server(sender: Any, *args: Any, **kwargs: Any) -> None:
        await app.on_started_init_web_server()
