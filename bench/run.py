"""``make bench``: how fast txwatch is on this machine, measured on the local stack.

Prints progress to stderr, then a table and one JSON line to stdout:

(a) one worker's sustained throughput on the full pipeline over N pre-produced
    transactions (default 200,000 for 100,000 users);
(b) the floor: a bare Faust agent that only decodes and counts the same data;
(c) the ceiling: a raw aiokafka consumer decoding the same data;
(d) p50/p99 produce-to-alert latency at fixed rates, after a warm-up at the
    highest, with the share of a core the worker used meanwhile, where each
    alert's time went (to the broker, waiting for the worker, in its batch,
    back out), and its floor: the same runs through a stock Faust agent that
    forwards one transaction in 50;
(e) the worker's peak RSS after (a) and (d);
(f) the throughput of two workers sharing the partitions;
(g) recovery with 1,000,000 users: a standby taking over, a restart on the
    worker's own disk, a replay from an empty disk against a raw read of the
    same changelog, and the worker's RSS (:mod:`bench.recovery`).

Everything runs in topics, consumer groups, databases and table folders of
its own, removed at the end; the workers' logs stay in ``var/bench/<run>/``.
A step that fails is reported as failed, with why, and the others still run;
the exit status is then 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson
import psycopg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from models.simulator import SimulatorConfig, simulate
from models.transaction import parse_timestamp

ROOT = Path(__file__).resolve().parents[1]
FAUST = Path(sys.executable).with_name("faust")
STEPS = ("raw", "bare", "full", "merchants", "latency", "two", "recovery")

#: Default seconds of paced sending, not timed, before the timed runs of each
#: latency step. A freshly started broker compiles its code for small produce
#: and fetch requests only once they come: its JIT compiler took half a core
#: in the first 5 s of paced traffic, and the p50 of each of those seconds was
#: 31-95 ms; it still took 7-10% of a core 20-35 s in, so 15 s left that
#: inside the timed runs (bench/NOTES.md, "The first run after a start").
WARMUP_SECONDS = 60

#: The config of the topics the latency runs time: the broker stamps each
#: message with the time it appended it, so that an alert's way can be split
#: where the broker saw it pass (:func:`split_times`).
APPEND_TIME = {"message.timestamp.type": "LogAppendTime"}


def say(message: str) -> None:
    """Progress, on stderr: stdout carries only the results."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


@dataclass
class Options:
    count: int
    users: int
    rates: list[int]
    latency_seconds: int
    partitions: int
    steps: tuple[str, ...]
    model: Path
    warmup_seconds: int = WARMUP_SECONDS
    recovery_users: int = 1_000_000
    run_id: str = field(default_factory=lambda: time.strftime("%Y%m%d%H%M%S"))

    @property
    def workdir(self) -> Path:
        return ROOT / "var" / "bench" / self.run_id


def stack_env() -> dict[str, str]:
    out = subprocess.run(
        [str(ROOT / "stack" / "stack.sh"), "env"], capture_output=True, text=True, check=True
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_json(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, orjson.loads(exc.read() or b"{}")
    except OSError:
        return 0, {}


# -- processes -----------------------------------------------------------------


class Worker:
    """A worker process (txwatch's or the bare agent's) with its log in the run's folder."""

    def __init__(self, name: str, app: str, env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.env = {**env, "WEB_PORT": str(self.port), "PYTHONPATH": str(ROOT)}
        self.dir = workdir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log = self.dir / "worker.log"
        self.process = subprocess.Popen(
            [str(FAUST), "-A", app, "worker", "-l", "info"],
            cwd=self.dir,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log}")
            if b"[^Worker]: Ready" in self.log.read_bytes():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready in {timeout}s; see {self.log}")

    def stats(self) -> dict[str, Any]:
        return http_json(self.url + "/stats")[1]

    def assigned(self) -> int:
        _, health = http_json(self.url + "/health")
        return len(health.get("kafka", {}).get("assigned_partitions", [])) if health else 0

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def waited_seconds(self) -> float | None:
        """How long the worker's main thread (its event loop) has waited for a CPU."""
        return run_queue_seconds(self.process.pid)

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM in /proc status")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def run_queue_seconds(pid: int) -> float | None:
    """How long process ``pid``'s main thread has waited for a CPU while ready to run,
    or None where the kernel does not tell (or the process is gone)."""
    # schedstat: time on a CPU, time waiting on a run queue (ns), time slices.
    # The process's own file describes its main thread alone.
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


class WorkerUsage:
    """A worker's CPU, and its event loop's wait for a CPU, from creation on."""

    def __init__(self, worker: Worker) -> None:
        self._worker = worker
        self._cpu = worker.cpu_seconds()
        self._waited = worker.waited_seconds()

    def percents(self, seconds: float) -> dict[str, int]:
        """``worker_cpu_pct`` (of a core) and, where the kernel tells,
        ``worker_waited_pct`` (of the time), over the last ``seconds``."""
        shares = {"worker_cpu_pct": round(100 * (self._worker.cpu_seconds() - self._cpu) / seconds)}
        waited = self._worker.waited_seconds()
        if waited is not None and self._waited is not None:
            shares["worker_waited_pct"] = round(100 * (waited - self._waited) / seconds)
        return shares


@contextlib.contextmanager
def workers(*started: Worker) -> Iterator[tuple[Worker, ...]]:
    """The ``started`` workers, stopped at the end and their tables removed (logs kept)."""
    try:
        yield started
    finally:
        for worker in started:
            worker.stop()
            keep_only(worker.dir, worker.log)


def keep_only(folder: Path, kept: Path) -> None:
    """Remove everything in ``folder`` but ``kept``."""
    # A worker's tables take about 150 MB a run: kept, they filled the disk
    # run after run, while only the log is read afterwards.
    for path in folder.iterdir():
        if path == kept:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


# -- Kafka -----------------------------------------------------------------------


def bootstrap(env: dict[str, str]) -> str:
    return env["BROKER_URL"].removeprefix("kafka://").replace(";", ",")


async def create_topic(
    servers: str, topic: str, partitions: int, configs: dict[str, str] | None = None
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1, topic_configs=configs or {})])
    finally:
        await admin.close()


async def delete_topics(servers: str, marker: str) -> None:
    """Delete every topic whose name contains ``marker``: the run's own, and the
    changelog and assignor topics Faust made for its workers (named after their app id)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        doomed = [t for t in await admin.list_topics() if marker in t]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


async def produce_all(servers: str, topic: str, messages: list[tuple[bytes, bytes]]) -> float:
    """Send every message as fast as the broker takes them; messages per second."""
    producer = AIOKafkaProducer(
        bootstrap_servers=servers, linger_ms=5, max_batch_size=512 * 1024, acks=1
    )
    await producer.start()
    started = time.perf_counter()
    try:
        pending = []
        for key, value in messages:
            pending.append(await producer.send(topic, value=value, key=key))
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return len(messages) / (time.perf_counter() - started)


async def raw_consume(servers: str, topic: str, count: int) -> float:
    """(c) The ceiling: read and JSON-decode ``count`` messages with aiokafka alone."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=servers,
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        seen = 0
        started = time.perf_counter()
        while seen < count:
            batch = await consumer.getmany(timeout_ms=10_000, max_records=10_000)
            if not batch:
                raise TimeoutError(f"raw consumer stalled at {seen}/{count}")
            for records in batch.values():
                for record in records:
                    orjson.loads(record.value)
                seen += len(records)
        return seen / (time.perf_counter() - started)
    finally:
        await consumer.stop()


# -- measurements ------------------------------------------------------------------


def measure_bare(opts: Options, env: dict[str, str], topic: str) -> float:
    """(b) The floor: a Faust agent that decodes and counts, on the same data."""
    result = opts.workdir / "bare-result.json"
    bare_env = {
        **env,
        "BENCH_TOPIC": topic,
        "BENCH_COUNT": str(opts.count),
        "BENCH_RESULT": str(result),
        "BENCH_APP_ID": f"txwatch-bench-{opts.run_id}-bare",
    }
    with workers(Worker("bare", "bench.bare_app", bare_env, opts.workdir)):
        deadline = time.monotonic() + 60 + opts.count / 500
        while not result.exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the bare agent did not finish; see its log")
            time.sleep(0.2)
    times = orjson.loads(result.read_bytes())
    return (opts.count - 1) / (times["last"] - times["first"])


def warm_up(
    label: str,
    servers: str,
    prefix: str,
    messages: list[tuple[bytes, bytes]],
    partitions: int,
    rate: int,
    seconds: int,
) -> list[tuple[bytes, bytes]]:
    """Send ``seconds`` of ``messages`` at ``rate``/s, untimed; return the rest."""
    count = rate * seconds
    if count <= 0:
        return messages
    say(f"{label} warming up at {rate}/s for {seconds}s")
    asyncio.run(paced_latency(servers, prefix, messages[:count], rate, partitions))
    return messages[count:]


def measure_floor_latency(
    opts: Options, env: dict[str, str], servers: str, messages: list[tuple[bytes, bytes]]
) -> list[dict[str, Any]]:
    """(d) floor: the same paced runs through a stock Faust agent that forwards 1 in 50."""
    prefix = f"bench-{opts.run_id}-c-"
    for topic in ("transactions", "alerts"):
        asyncio.run(create_topic(servers, prefix + topic, opts.partitions, APPEND_TIME))
    floor_env = {
        **env,
        "BENCH_MODE": "forward",
        "BENCH_TOPIC": f"{prefix}transactions",
        "BENCH_FORWARD_TOPIC": f"{prefix}alerts",
        "BENCH_APP_ID": f"txwatch-bench-{opts.run_id}-floor",
        "TOPIC_PARTITIONS": str(opts.partitions),
    }
    with workers(Worker("floor", "bench.bare_app", floor_env, opts.workdir)) as fleet:
        fleet[0].wait_ready()
        # For this fresh worker, it also covers its own first fetches and sends.
        rest = warm_up(
            "(d) floor:", servers, prefix, messages, opts.partitions, max(opts.rates),
            opts.warmup_seconds,
        )  # fmt: skip
        return paced_runs(opts, servers, prefix, rest, "(d) floor:", fleet[0])


def paced_runs(
    opts: Options,
    servers: str,
    prefix: str,
    messages: list[tuple[bytes, bytes]],
    label: str,
    worker: Worker,
    before_each: Callable[[], None] = lambda: None,
) -> list[dict[str, Any]]:
    """One :func:`paced_latency` run per rate of ``opts``, each on the next fresh messages,
    with the share of one core ``worker`` used meanwhile."""
    measured = []
    for rate in opts.rates:
        before_each()
        say(f"{label} latency at {rate}/s for {opts.latency_seconds}s")
        chunk, messages = (
            messages[: rate * opts.latency_seconds],
            messages[rate * opts.latency_seconds :],
        )
        measured.append(
            asyncio.run(paced_latency(servers, prefix, chunk, rate, opts.partitions, worker))
        )
        say(f"{label} {measured[-1]}")
    return measured


@dataclass
class Run:
    """Throughput of workers over one stream, from polling their /stats."""

    rate: float
    seconds: float
    cpu_us_per_event: float | None


def watch_until_done(fleet: tuple[Worker, ...], count: int, timeout: float) -> Run:
    """Poll the workers until they have processed ``count`` together; their combined rate."""
    first: tuple[float, int] | None = None
    cpu_start = 0.0
    deadline = time.monotonic() + timeout
    last_report = time.monotonic()
    while time.monotonic() < deadline:
        now = time.monotonic()
        done = sum(w.stats().get("processed", 0) for w in fleet)
        if first is None and done > 0:
            first = (now, done)
            cpu_start = sum(w.cpu_seconds() for w in fleet)
        if first is not None and done >= count:
            cpu = sum(w.cpu_seconds() for w in fleet) - cpu_start
            seconds = now - first[0]
            events = done - first[1]
            return Run(events / seconds, seconds, 1e6 * cpu / events)
        if now - last_report >= 10:
            say(f"  {done:,}/{count:,} processed")
            last_report = now
        time.sleep(0.25)
    raise RuntimeError(f"workers did not process {count} events in {timeout:.0f}s")


def pipeline_env(opts: Options, env: dict[str, str], name: str) -> dict[str, str]:
    database = f"bench_{opts.run_id}_{name}"
    admin_url = env["DATABASE_URL"]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    return {
        **env,
        "DATABASE_URL": admin_url.rsplit("/", 1)[0] + f"/{database}",
        "TXWATCH_APP_ID": f"txwatch-bench-{opts.run_id}-{name}",
        "TXWATCH_MODEL_PATH": str(opts.model),
        "TOPIC_PARTITIONS": str(opts.partitions),
    }


def drop_databases(env: dict[str, str], run_id: str) -> None:
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        names = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"bench_{run_id}_%",)
        ).fetchall()
        for (name,) in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def ms(seconds: float) -> float:
    """``seconds`` in milliseconds, to a tenth; never "-0.0"."""
    return round(1000 * seconds, 1) + 0.0


def quantile_ms(seconds: list[float], q: float) -> float:
    """The ``q`` quantile (0 to 1) of ``seconds`` (not empty), in milliseconds."""
    ordered = sorted(seconds)
    return ms(ordered[min(len(ordered) - 1, int(len(ordered) * q))])


@dataclass(slots=True)
class AlertTimes:
    """When one alert's transaction was sent, appended by the broker and taken into a
    batch by the worker, and when its alert was appended and read (epoch seconds;
    None where unknown: a topic without append times, an agent that says nothing)."""

    sent: float
    appended: float | None
    scored: float | None
    alerted: float | None
    read: float


#: The stretches of an alert's way, by the points that bound them. Without
#: ``scored`` (the floor's forwarded transactions), the worker's two are one.
STRETCHES = {
    ("sent", "appended"): "to_broker",
    ("appended", "scored"): "waiting",
    ("scored", "alerted"): "batch",
    ("appended", "alerted"): "through_worker",
    ("alerted", "read"): "to_reader",
}


def split_times(times: list[AlertTimes]) -> dict[str, Any]:
    """p50 and p99 (ms) of each stretch of the alerts' way, and the mean of each
    over the slowest 1% of alerts: what their total is made of.

    Only alerts whose every point but ``scored`` is known count. The broker's
    times are whole milliseconds, so a stretch that starts or ends at one is
    exact to about a millisecond (and may show below zero).
    """
    rows = []
    for t in times:
        if t.appended is None or t.alerted is None:
            continue
        points = [(f.name, getattr(t, f.name)) for f in fields(AlertTimes)]
        known = [(name, at) for name, at in points if at is not None]
        stretches = {STRETCHES[(a, b)]: end - start for (a, start), (b, end) in pairwise(known)}
        rows.append((t.read - t.sent, stretches))
    if not rows:
        return {}
    rows.sort(key=lambda row: row[0])
    slowest = rows[len(rows) - max(1, len(rows) // 100) :]
    names = [name for name in STRETCHES.values() if all(name in r[1] for r in rows)]

    return {
        "split_ms": {
            name: [quantile_ms([r[1][name] for r in rows], q) for q in (0.5, 0.99)]
            for name in names
        },
        "slowest_1pct_mean_ms": {
            "total": ms(sum(r[0] for r in slowest) / len(slowest)),
            **{name: ms(sum(r[1][name] for r in slowest) / len(slowest)) for name in names},
        },
    }


def detected_at(text: str | None) -> float | None:
    """Epoch seconds of an alert's ``detected_at`` (ISO-8601, ``Z``), None without one."""
    return None if text is None else parse_timestamp(text)


async def paced_latency(
    servers: str,
    prefix: str,
    messages: list[tuple[bytes, bytes]],
    rate: int,
    partitions: int,
    worker: Worker | None = None,
) -> dict[str, Any]:
    """(d) Send at ``rate``/s; how long each alert took from being sent to being readable.

    Only ``alerts`` is read (a few per cent of the traffic), so that measuring
    takes little of the CPU the worker shares with this process. Given the
    ``worker``, also the share of a core it used while the messages were sent,
    and the share of that time its event loop was ready to run but waited for
    a CPU that other processes held. Where the topics carry the broker's
    append times (:data:`APPEND_TIME`), also where the alerts' time went.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=servers, group_id=None, auto_offset_reset="latest"
    )
    await consumer.start()
    producer = AIOKafkaProducer(bootstrap_servers=servers, linger_ms=0, acks=1)
    await producer.start()
    sent_at: dict[bytes, float] = {}
    appended_at: dict[bytes, float] = {}
    times: list[AlertTimes] = []
    try:
        tps = [TopicPartition(f"{prefix}alerts", p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:  # fix the positions before anything is sent
            await consumer.position(tp)

        async def collect() -> None:
            while True:
                batch = await consumer.getmany(timeout_ms=100)
                now = time.time()
                for records in batch.values():
                    for record in records:
                        alert = orjson.loads(record.value)
                        tx_id = alert["transaction_id"].encode()
                        if tx_id in sent_at:
                            times.append(
                                AlertTimes(
                                    sent_at[tx_id],
                                    appended_at.get(tx_id),
                                    detected_at(alert.get("detected_at")),
                                    record.timestamp / 1000 if record.timestamp_type == 1 else None,
                                    now,
                                )
                            )

        def note_appended(tx_id: bytes, delivery: asyncio.Future[Any]) -> None:
            if not delivery.cancelled() and delivery.exception() is None:
                metadata = delivery.result()
                if metadata.timestamp_type == 1:  # the broker's append time
                    appended_at[tx_id] = metadata.timestamp / 1000

        collector = asyncio.create_task(collect())
        usage = WorkerUsage(worker) if worker else None
        stolen = StolenShare()
        started = time.monotonic()
        for i, (key, value) in enumerate(messages):
            due = started + i / rate
            if due - time.monotonic() > 0.001:
                await asyncio.sleep(due - time.monotonic())
            tx_id = orjson.loads(value)["transaction_id"].encode()
            sent_at[tx_id] = time.time()
            delivery = await producer.send(f"{prefix}transactions", value=value, key=key)
            delivery.add_done_callback(functools.partial(note_appended, tx_id))
        sending = time.monotonic() - started
        achieved = len(messages) / sending
        worker_shares = usage.percents(sending) if usage else {}
        stolen_pct = stolen.percent()
        await asyncio.sleep(5)  # the last alerts' way out
        collector.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await collector
    finally:
        await producer.stop()
        await consumer.stop()

    latencies = [t.read - t.sent for t in times]
    return {
        "rate": rate,
        "rate_achieved": round(achieved),
        "sent": len(messages),
        "alerts": len(latencies),
        "alert_p50_ms": quantile_ms(latencies, 0.5) if latencies else None,
        "alert_p99_ms": quantile_ms(latencies, 0.99) if latencies else None,
        **worker_shares,
        "machine_stolen_pct": stolen_pct,
        **split_times(times),
    }


def wait_caught_up(worker: Worker, timeout: float = 300) -> None:
    """Wait until the worker has read everything in its partitions (no carried-over backlog)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.stats().get("kafka", {}).get("lag") == 0:
            return
        time.sleep(0.5)
    raise RuntimeError("the worker did not catch up")


def wait_split(fleet: tuple[Worker, ...], partitions: int, timeout: float = 120) -> None:
    """Wait until every worker has partitions and together they have all of them, for 3 s."""
    deadline = time.monotonic() + timeout
    stable_since = None
    while time.monotonic() < deadline:
        counts = [w.assigned() for w in fleet]
        if all(counts) and sum(counts) == partitions:
            stable_since = stable_since or time.monotonic()
            if time.monotonic() - stable_since >= 3:
                return
        else:
            stable_since = None
        time.sleep(0.5)
    raise RuntimeError("the workers never shared the partitions")


# -- the run -------------------------------------------------------------------------


class StolenShare:
    """The share of the machine's CPU time the hypervisor took from it since creation.

    A virtual machine's CPU can be taken by its host ("steal" in ``/proc/stat``);
    the worker then falls behind although it used less than a core. Every
    figure of a run in which much was stolen is worse, so the bench reports it.
    """

    def __init__(self) -> None:
        self._start = self._ticks()

    @staticmethod
    def _ticks() -> tuple[int, int]:
        # user nice system idle iowait irq softirq steal (guest time is inside user)
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        return sum(fields), fields[7]

    def percent(self) -> float:
        """Stolen ticks as a percentage of all the machine's ticks since creation (0 if none)."""
        total, stolen = self._ticks()
        elapsed = total - self._start[0]
        return round(100 * (stolen - self._start[1]) / elapsed, 1) if elapsed > 0 else 0.0


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "note": "broker, database, workers and the bench share these cores",
    }


def ensure_model(opts: Options, env: dict[str, str]) -> None:
    if opts.model.exists():
        return
    say(f"training a model once into {opts.model} (about a minute)")
    opts.model.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(FAUST), "-A", "app", "train", "--users", "2000", "--count", "100000",
         "--seed", "1", "--output", str(opts.model)],
        env=env, check=True, stdout=subprocess.DEVNULL, cwd=ROOT,
    )  # fmt: skip


@contextlib.contextmanager
def step(results: dict[str, Any], *names: str) -> Iterator[None]:
    """Run one step; if it fails, note why under each of ``names`` and go on with the rest."""
    try:
        yield
    except Exception as exc:  # one step's failure must not cost the other steps' figures
        reason = str(exc) or type(exc).__name__
        for name in names:
            results.setdefault("failed", {}).setdefault(name, reason)
        say(f"{'/'.join(names)} failed: {reason}")


def run(opts: Options) -> dict[str, Any]:
    env = {**os.environ, **stack_env()}
    servers = bootstrap(env)
    opts.workdir.mkdir(parents=True, exist_ok=True)
    prefix = f"bench-{opts.run_id}-"
    results: dict[str, Any] = {"machine": machine(), "count": opts.count, "users": opts.users}
    if "latency" in opts.steps:
        results["latency_warmup_s"] = opts.warmup_seconds
    stolen = StolenShare()
    ensure_model(opts, env)

    # The latency runs take fresh transactions: txwatch's, then the floor's,
    # each with its warm-up.
    warmup_count = max(opts.rates) * opts.warmup_seconds
    latency_share = sum(opts.rates) * opts.latency_seconds + warmup_count
    extra = 2 * latency_share if "latency" in opts.steps else 0
    say(f"simulating {opts.count + extra:,} transactions for {opts.users:,} users")
    config = SimulatorConfig(users=opts.users, fraud_rate=0.01, seed=3)
    # Copied: kept, each value orjson returns held about 4 KB here (200,000
    # of them took 786 MB, and a default run's 740,000 3.2 GB); a copy holds
    # its own length (544 MB for the whole run's messages).
    messages = [
        (tx.user_id.encode(), bytes(memoryview(orjson.dumps(tx.to_dict()))))
        for tx in simulate(config, opts.count + extra)
    ]
    stream, later = messages[: opts.count], messages[opts.count :]
    topic = f"{prefix}a-transactions"
    try:
        # (a)'s alerts too, before its worker would make it: both are timed in (d).
        for name in (topic, f"{prefix}a-alerts"):
            asyncio.run(create_topic(servers, name, opts.partitions, APPEND_TIME))
        rate = asyncio.run(produce_all(servers, topic, stream))
        say(f"pre-produced {len(stream):,} transactions at {rate:,.0f}/s")

        if "raw" in opts.steps:
            with step(results, "raw"):
                results["raw_aiokafka_per_s"] = round(
                    asyncio.run(raw_consume(servers, topic, opts.count))
                )
                say(f"(c) raw aiokafka: {results['raw_aiokafka_per_s']:,}/s")
        if "bare" in opts.steps:
            with step(results, "bare"):
                results["bare_faust_per_s"] = round(measure_bare(opts, env, topic))
                say(f"(b) bare Faust agent: {results['bare_faust_per_s']:,}/s")
        on_full = [name for name in ("full", "latency") if name in opts.steps]
        if on_full:
            with step(results, *on_full):
                measure_full(opts, env, servers, prefix, later[:latency_share], results)
        if "merchants" in opts.steps:
            with step(results, "merchants"):
                results.update(measure_without_merchants(opts, env, servers, prefix, stream))
        if "latency" in opts.steps:
            with step(results, "floor"):
                results["floor_latency"] = measure_floor_latency(
                    opts, env, servers, later[latency_share:]
                )
        if "two" in opts.steps:
            with step(results, "two"):
                two = measure_two(opts, env, servers, prefix, stream)
                results["two_workers_per_s"] = round(two)
        if "recovery" in opts.steps:
            from bench.recovery import measure_recovery  # it builds on this module

            with step(results, "recovery"):
                results["recovery"] = measure_recovery(opts, env, servers)
    finally:
        asyncio.run(delete_topics(servers, prefix))
        drop_databases(env, opts.run_id)
        results["machine"]["stolen_pct"] = stolen.percent()
    if "full_pipeline_per_s" in results and "bare_faust_per_s" in results:
        results["full_to_floor"] = round(
            results["full_pipeline_per_s"] / results["bare_faust_per_s"], 3
        )
    return results


def measure_full(
    opts: Options,
    env: dict[str, str],
    servers: str,
    prefix: str,
    fresh: list[tuple[bytes, bytes]],
    results: dict[str, Any],
) -> None:
    """(a), then (d) on ``fresh`` messages if asked, then (e): one worker, into ``results``."""
    full_env = {**pipeline_env(opts, env, "a"), "TXWATCH_TOPIC_PREFIX": f"{prefix}a-"}
    with workers(Worker("full", "app", full_env, opts.workdir)) as fleet:
        fleet[0].wait_ready()
        say("(a) full pipeline, one worker")
        full = watch_until_done(fleet, opts.count, timeout=600 + opts.count / 100)
        results["full_pipeline_per_s"] = round(full.rate)
        results["full_pipeline_cpu_us_per_event"] = round(full.cpu_us_per_event or 0)
        say(f"(a) full pipeline: {full.rate:,.0f}/s over {full.seconds:.1f}s")
        if "latency" in opts.steps:
            with step(results, "latency"):
                wait_caught_up(fleet[0])
                rest = warm_up(
                    "(d)", servers, f"{prefix}a-", fresh, opts.partitions, max(opts.rates),
                    opts.warmup_seconds,
                )  # fmt: skip
                results["latency"] = paced_runs(
                    opts, servers, f"{prefix}a-", rest, "(d)", fleet[0],
                    before_each=lambda: wait_caught_up(fleet[0]),
                )  # fmt: skip
        results["worker_peak_rss_mb"] = round(fleet[0].peak_rss_mb())
        say(f"(e) peak RSS: {results['worker_peak_rss_mb']} MB")


def measure_without_merchants(
    opts: Options, env: dict[str, str], servers: str, prefix: str, stream: list
) -> dict[str, int]:
    """(a) again with TXWATCH_MERCHANT_STATE=false: what merchants' records cost (a) per tx."""
    plain_env = {
        **pipeline_env(opts, env, "m"),
        "TXWATCH_TOPIC_PREFIX": f"{prefix}m-",
        "TXWATCH_MERCHANT_STATE": "false",
    }
    topic = f"{prefix}m-transactions"
    asyncio.run(create_topic(servers, topic, opts.partitions, APPEND_TIME))
    asyncio.run(produce_all(servers, topic, stream))
    with workers(Worker("plain", "app", plain_env, opts.workdir)) as fleet:
        fleet[0].wait_ready()
        say("(a) without merchant state, one worker")
        plain = watch_until_done(fleet, opts.count, timeout=600 + opts.count / 100)
    say(f"(a) without merchant state: {plain.rate:,.0f}/s")
    return {
        "full_without_merchants_per_s": round(plain.rate),
        "full_without_merchants_cpu_us_per_event": round(plain.cpu_us_per_event or 0),
    }


def measure_two(
    opts: Options,
    env: dict[str, str],
    servers: str,
    prefix: str,
    stream: list[tuple[bytes, bytes]],
) -> float:
    """(f): the combined throughput of two workers sharing the partitions of ``stream``."""
    two_env = {**pipeline_env(opts, env, "b"), "TXWATCH_TOPIC_PREFIX": f"{prefix}b-"}
    pair = (Worker("two-1", "app", two_env, opts.workdir),
            Worker("two-2", "app", two_env, opts.workdir))  # fmt: skip
    with workers(*pair) as fleet:
        for worker in fleet:
            worker.wait_ready()
        wait_split(fleet, opts.partitions)
        say("(f) two workers: producing the same stream to their topic")
        produced = asyncio.run(produce_all(servers, f"{prefix}b-transactions", stream))
        say(f"  produced at {produced:,.0f}/s")
        two = watch_until_done(fleet, opts.count, timeout=600 + opts.count / 100)
        say(f"(f) two workers: {two.rate:,.0f}/s")
        return two.rate


#: What the three shares after a latency run's p50 / p99 are.
SHARES = "worker CPU, its loop waited, stolen"

#: How the report names the stretches of an alert's way (:data:`STRETCHES`).
STRETCH_NAMES = {
    "to_broker": "to the broker",
    "waiting": "waiting for the worker's batch",
    "batch": "in the batch, sent",
    "through_worker": "through the agent",
    "to_reader": "on to the reader",
}


def split_lines(results: dict[str, Any]) -> list[str]:
    """One line per latency run that has a split: where its alerts' time went."""
    lines = []
    for label, runs in (
        ("(d)", results.get("latency")),
        ("(d) floor", results.get("floor_latency")),
    ):
        for measured in runs or []:
            if "split_ms" not in measured:
                continue
            slowest = measured["slowest_1pct_mean_ms"]
            parts = [
                f"{STRETCH_NAMES[name]} {p50} / {p99} ({slowest[name]})"
                for name, (p50, p99) in measured["split_ms"].items()
            ]
            lines.append(
                f"{label} at {measured['rate']}/s, ms, p50 / p99 (mean of the slowest 1%, "
                f"{slowest['total']} in all): {'; '.join(parts)}"
            )
    return lines


def table(results: dict[str, Any]) -> str:
    """The results as a table, a failed step's figures shown as failed and why below."""
    failed = results.get("failed", {})
    latencies = results.get("latency") or [{}]
    latency = latencies[0]
    at = f"{latency['rate']}/s" if "rate" in latency else "the first rate"

    def runs(measured: dict[str, Any]) -> str:
        shown = f"{measured['alert_p50_ms']} / {measured['alert_p99_ms']}"
        shares = [
            f"{measured[key]}%" if key in measured else "-"
            for key in ("worker_cpu_pct", "worker_waited_pct", "machine_stolen_pct")
        ]
        return f"{shown} ({', '.join(shares)})"

    # (step, name, value, unit): a value is None when its step failed or did not run.
    rows = [
        ("full", "(a) full pipeline, 1 worker", results.get("full_pipeline_per_s"), "tx/s"),
        ("full", "    CPU per transaction", results.get("full_pipeline_cpu_us_per_event"), "µs"),
        ("merchants", "    without merchant state",
         results.get("full_without_merchants_per_s"), "tx/s"),
        ("merchants", "    its CPU per transaction",
         results.get("full_without_merchants_cpu_us_per_event"), "µs"),
        ("bare", "(b) floor: bare Faust agent", results.get("bare_faust_per_s"), "events/s"),
        ("raw", "(c) ceiling: raw aiokafka + JSON", results.get("raw_aiokafka_per_s"), "msg/s"),
        ("", "    (a) / (b)", results.get("full_to_floor"), ""),
        ("latency", f"(d) produce→alert p50 at {at}",
         latency.get("alert_p50_ms"), "ms"),
        ("latency", f"(d) produce→alert p99 at {at}",
         latency.get("alert_p99_ms"), "ms"),
        ("latency", "    worker CPU meanwhile", latency.get("worker_cpu_pct"), "% of a core"),
        ("latency", "    its event loop waited for a CPU",
         latency.get("worker_waited_pct"), "% of the time"),
        ("latency", "    machine CPU stolen meanwhile", latency.get("machine_stolen_pct"), "%"),
        *[("latency", f"    p50 / p99 at {m['rate']}/s", runs(m), f"ms ({SHARES})")
          for m in latencies[1:]],
        *[("floor", f"    floor: stock Faust agent at {m['rate']}/s", runs(m),
           f"ms ({SHARES})")
          for m in results.get("floor_latency") or [{}] if m],
        *[("floor", "    floor: stock Faust agent", None, "ms")
          for _ in [1] if "floor" in failed],
        ("full", "(e) worker peak RSS", results.get("worker_peak_rss_mb"), "MB"),
        ("two", "(f) full pipeline, 2 workers", results.get("two_workers_per_s"), "tx/s"),
    ]  # fmt: skip
    shown = [
        ("failed" if step_name in failed else "not run")
        if value is None
        else (f"{value:,}" if isinstance(value, int) else str(value))
        for step_name, _, value, _ in rows
    ]
    width = max(len(r[1]) for r in rows)
    values = max(18, *(len(v) for v in shown))
    lines = [f"{'measure':<{width}}  {'value':>{values}}  unit", "-" * (width + values + 22)]
    for (_, name, _, unit), value in zip(rows, shown, strict=True):
        lines.append(f"{name:<{width}}  {value:>{values}}  {unit}")
    m = results["machine"]
    lines.append(f"{results['count']:,} transactions, {results['users']:,} users; "
                 f"{m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB")  # fmt: skip
    if "latency_warmup_s" in results:
        lines.append(
            f"latency runs after {results['latency_warmup_s']} s of untimed sending"
            " at the highest rate"
        )
    if "stolen_pct" in m:
        lines.append(f"CPU time its host took from the machine over the run: {m['stolen_pct']}%")
    lines += split_lines(results)
    if "recovery" in results:
        from bench.recovery import recovery_lines  # it builds on this module

        lines += recovery_lines(results["recovery"])
    lines += [f"step {name} failed: {reason}" for name, reason in failed.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200_000, help="pre-produced transactions")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument(
        "--rates", default="2000,1000", help="tx/s of the latency runs (the first is headline)"
    )
    parser.add_argument("--latency-seconds", type=int, default=30)
    parser.add_argument(
        "--warmup-seconds",
        type=int,
        default=WARMUP_SECONDS,
        help="paced sending at the highest rate, not timed, before each latency step (0: none)",
    )
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument(
        "--steps", default=",".join(STEPS), help=f"comma-separated subset of {','.join(STEPS)}"
    )
    parser.add_argument("--model", type=Path, default=ROOT / "var" / "model" / "txwatch-model.npz")
    parser.add_argument("--recovery-users", type=int, default=1_000_000, help="users in step (g)")
    args = parser.parse_args(argv)
    steps = tuple(s for s in args.steps.split(",") if s)
    unknown = set(steps) - set(STEPS)
    if unknown:
        parser.error(f"unknown step(s): {', '.join(sorted(unknown))}")
    if args.warmup_seconds < 0:
        parser.error(f"--warmup-seconds must be 0 or more, not {args.warmup_seconds}")
    opts = Options(
        args.count,
        args.users,
        [int(r) for r in args.rates.split(",") if r],
        args.latency_seconds,
        args.partitions,
        steps,
        args.model,
        warmup_seconds=args.warmup_seconds,
        recovery_users=args.recovery_users,
    )
    results = run(opts)
    print(table(results))
    print(json.dumps(results))
    if results.get("failed"):
        sys.exit(1)


if __name__ == "__main__":
    main()
