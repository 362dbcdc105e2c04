"""The floors of ``make bench``: a stock Faust agent that does next to nothing.

Same broker, same Faust settings as a txwatch worker, nothing else:
whatever txwatch adds on top of this costs throughput or latency.

- ``BENCH_MODE=events`` (default) or ``take``: it decodes and counts
  ``BENCH_TOPIC``, and writes the time of its first and last event to
  ``BENCH_RESULT`` when it has seen ``BENCH_COUNT`` events (throughput).
- ``BENCH_MODE=forward``: it decodes ``BENCH_TOPIC`` and forwards one
  transaction in 50 (chosen by its id, about txwatch's alert share) to
  ``BENCH_FORWARD_TOPIC``, where the bench times them (latency).
"""

from __future__ import annotations

import os
import time
import zlib
from pathlib import Path

import faust
import orjson

TOPIC = os.environ["BENCH_TOPIC"]
MODE = os.environ.get("BENCH_MODE", "events")
FORWARDING = MODE == "forward"
# Each mode's settings are required in that mode: a bench run missing one fails at start.
COUNT = 0 if FORWARDING else int(os.environ["BENCH_COUNT"])
RESULT = Path(os.environ["BENCH_RESULT"] if not FORWARDING else os.devnull)
FORWARD_TOPIC = os.environ["BENCH_FORWARD_TOPIC"] if FORWARDING else TOPIC

app = faust.App(
    os.environ.get("BENCH_APP_ID", "txwatch-bench-bare"),
    broker=os.environ.get("BROKER_URL", "kafka://127.0.0.1:9092"),
    store="memory://",
    web_port=int(os.environ.get("WEB_PORT", "6099")),
    web_bind="127.0.0.1",
    web_host="127.0.0.1",
    # txwatch's own sends never linger (app/batching.py), so the forwarder's don't either.
    producer_linger=0.0 if FORWARDING else 0.01,
)
transactions = app.topic(TOPIC, key_serializer="raw", value_serializer="raw")
forwarded = app.topic(FORWARD_TOPIC, key_serializer="raw", value_serializer="raw")


class Tally:
    """Counts decoded events; writes the first and last event's time once ``COUNT`` are in."""

    def __init__(self) -> None:
        self.seen = 0
        self.first = 0.0

    def add(self, event) -> None:
        orjson.loads(event.message.value)
        self.seen += 1
        if self.seen == 1:
            self.first = time.time()
        if self.seen == COUNT:
            # Once, after the measured span: blocking is harmless here.
            RESULT.write_text(orjson.dumps({"first": self.first, "last": time.time()}).decode())


@app.agent(transactions)
async def count(stream):
    """Decode every message and count it, or forward one in 50 (see the module's doc)."""
    tally = Tally()
    if MODE == "take":  # batches, as txwatch's agent takes them
        async for events in stream.take_events(500, within=0.03):
            for event in events:
                tally.add(event)
        return
    if FORWARDING:
        async for event in stream.events():
            tx_id = orjson.loads(event.value)["transaction_id"]
            if zlib.crc32(tx_id.encode()) % 50 == 0:
                await forwarded.send(key=event.key, value=event.value)
        return
    async for event in stream.events():
        tally.add(event)
