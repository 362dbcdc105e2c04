"""Faust's Prometheus sensor, without its per-event bookkeeping.

Faust's ``PrometheusMonitor`` runs four hooks for every message (in, stream
in, stream out, out), each updating several labelled Prometheus metrics: in
a profile of the full pipeline that was about a tenth of the worker's time.
This monitor keeps everything else Faust reports (commits, rebalances,
assignments, sends, table and consumer state) and, per message, only notes
its arrival time (the agent's latency measure) and counts it; the end
offset of each partition (for lag) is updated once a second instead of for
every message fetched. txwatch's
own per-transaction counters and latency histogram (``txwatch_*``) take the
place of the per-event figures it drops.
"""

from __future__ import annotations

from time import monotonic
from typing import Any

from faust.sensors.prometheus import PrometheusMonitor
from faust.types import TP, EventT, Message, StreamT


class LeanPrometheusMonitor(PrometheusMonitor):
    """:class:`PrometheusMonitor` with per-message hooks reduced to one counter."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._end_offset_updated: dict[TP, float] = {}

    def on_message_in(self, tp: TP, offset: int, message: Message) -> None:
        """Note the arrival time and count the message."""
        message.time_in = monotonic()
        self.messages_received_total += 1
        self._metrics.messages_received.inc()

    def on_stream_event_in(
        self, tp: TP, offset: int, stream: StreamT, event: EventT
    ) -> dict[str, Any] | None:
        """Nothing per event (see the module's docstring)."""
        return None

    def on_stream_event_out(
        self,
        tp: TP,
        offset: int,
        stream: StreamT,
        event: EventT,
        state: dict[str, Any] | None = None,
    ) -> None:
        """Nothing per event."""

    def on_message_out(self, tp: TP, offset: int, message: Message) -> None:
        """Nothing per message."""

    def track_tp_end_offset(self, tp: TP, offset: int) -> None:
        """Update the end-offset gauge at most once a second per partition (Faust: per message)."""
        now = monotonic()
        if now - self._end_offset_updated.get(tp, 0.0) >= 1.0:
            self._end_offset_updated[tp] = now
            super().track_tp_end_offset(tp, offset)
        else:
            self.tp_end_offsets[tp] = offset
