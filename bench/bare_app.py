"""The floor of ``make bench``: a Faust agent that only decodes and counts.

Same topic, same broker, same Faust settings as a txwatch worker, nothing
else: whatever txwatch adds on top of this costs throughput. It writes the
time of its first and last event to ``BENCH_RESULT`` when it has seen
``BENCH_COUNT`` events.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import faust
import orjson

TOPIC = os.environ["BENCH_TOPIC"]
COUNT = int(os.environ["BENCH_COUNT"])
RESULT = Path(os.environ["BENCH_RESULT"])

app = faust.App(
    os.environ.get("BENCH_APP_ID", "txwatch-bench-bare"),
    broker=os.environ.get("BROKER_URL", "kafka://127.0.0.1:9092"),
    store="memory://",
    web_port=int(os.environ.get("WEB_PORT", "6099")),
    web_bind="127.0.0.1",
    web_host="127.0.0.1",
    producer_linger=0.01,
)
transactions = app.topic(TOPIC, key_serializer="raw", value_serializer="raw")


MODE = os.environ.get("BENCH_MODE", "events")


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
    """Decode every message and count it; report once ``COUNT`` are in."""
    tally = Tally()
    if MODE == "take":  # batches, as txwatch's agent takes them
        async for events in stream.take_events(500, within=0.03):
            for event in events:
                tally.add(event)
        return
    async for event in stream.events():
        tally.add(event)
