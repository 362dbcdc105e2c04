"""``make chaos``: an operator's soak of crashes and outages, checked to the last user.

Three workers score a paced stream of simulated, labelled transactions
(default 200,000 for 2,000 users on 8 partitions, one standby replica)
while, one after the other:

1. a worker is killed with -9 and restarted at once;
2. another is killed and restarted after the group's session timeout;
3. the third is killed and restarted on an empty disk (its tables rebuilt
   from the changelog);
4. the broker is stopped and started again;
5. PostgreSQL is stopped for 60 s;
6. and 7. two more kills with an immediate restart.

Another process keeps one core busy throughout (``--no-busy-core`` turns
that off). Once every transaction is scored, :mod:`bench.audit` checks
every transaction, every alert row and every user (not a sample), and the
report gives, for each kill, the seconds until every partition was
processed again. The exit status is 1 on any loss, stall or wrong count.

Everything runs in topics, a consumer group and a database of its own,
removed at the end; the workers' logs stay in ``var/chaos/<run>/``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import psycopg
from aiokafka import AIOKafkaProducer

from bench.audit import audit
from bench.recovery import recovered, until
from bench.run import ROOT, Worker, bootstrap, delete_topics, drop_databases, http_json, stack_env
from bench.scores import ScoreReader
from models.simulator import SimulatorConfig, simulate

STACK = ROOT / "stack" / "stack.sh"
SESSION_TIMEOUT = 10  # seconds: the group notices a dead worker this fast


def say(message: str) -> None:
    print(f"chaos: {message}", file=sys.stderr, flush=True)


class Producer(threading.Thread):
    """Sends the simulated transactions at ``rate`` per second; pausable."""

    def __init__(self, servers: str, topic: str, messages: list[tuple[bytes, bytes]], rate: float):
        super().__init__(daemon=True)
        self.servers, self.topic, self.messages, self.rate = servers, topic, messages, rate
        self.sent = 0
        self.resume = threading.Event()
        self.resume.set()
        self.drained = threading.Event()  # set once nothing is in flight after a pause
        self.done = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._send())
        except BaseException as exc:  # reported by the run
            self.error = exc
        finally:
            self.done.set()
            self.drained.set()

    async def _send(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.servers, linger_ms=5, acks="all", enable_idempotence=True
        )
        await producer.start()
        try:
            pending: list[asyncio.Future[Any]] = []
            started, paused = time.monotonic(), 0.0
            while self.sent < len(self.messages):
                if not self.resume.is_set():
                    # Nothing in flight while the broker is away: a send that
                    # failed then would be neither known sent nor lost.
                    await asyncio.gather(*pending)
                    pending.clear()
                    self.drained.set()
                    waited = time.monotonic()
                    await asyncio.to_thread(self.resume.wait)
                    paused += time.monotonic() - waited
                    self.drained.clear()
                key, value = self.messages[self.sent]
                pending.append(await producer.send(self.topic, value, key=key))
                self.sent += 1
                if len(pending) >= 1000:
                    await asyncio.gather(*pending)
                    pending.clear()
                ahead = started + paused + self.sent / self.rate - time.monotonic()
                if ahead > 0:
                    await asyncio.sleep(ahead)
            await asyncio.gather(*pending)
        finally:
            await producer.stop()


class Fleet:
    """The run's three workers, by name, each restartable in its own folder."""

    def __init__(self, env: dict[str, str], workdir: Path, partitions: int) -> None:
        self.env, self.workdir, self.partitions = env, workdir, partitions
        self.workers = {name: Worker(name, "app", env, workdir) for name in "abc"}
        for worker in self.workers.values():
            worker.wait_ready(300)

    def kill(self, name: str) -> None:
        worker = self.workers[name]
        os.killpg(worker.process.pid, 9)
        worker.process.wait(10)

    def start(self, name: str, empty_disk: bool = False) -> None:
        if empty_disk:
            for path in (self.workdir / name).iterdir():
                if path.name != "worker.log":
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
        self.workers[name] = Worker(name, "app", self.env, self.workdir)

    def all_processing(self) -> bool:
        """Every partition assigned to a live worker whose tables are recovered."""
        workers = list(self.workers.values())
        return all(w.process.poll() is None for w in workers) and recovered(
            workers, self.partitions
        )

    def processed(self) -> int:
        """Transactions the live workers have scored since each started."""
        return sum(
            http_json(w.url + "/stats")[1].get("processed", 0) for w in self.workers.values()
        )

    def stop(self) -> None:
        for worker in self.workers.values():
            worker.stop()


def stack(*args: str) -> None:
    subprocess.run([str(STACK), *args], check=True, capture_output=True)


def faults(fleet: Fleet, producer: Producer, bound: float, gap: float) -> list[str]:
    """Run the faults one after the other; a line per fault for the report."""
    report = []

    def kill(name: str, how: str, restart: Callable[[], None]) -> None:
        time.sleep(gap)
        sent = producer.sent
        killed = time.monotonic()
        fleet.kill(name)
        restart()
        until(fleet.all_processing, bound, f"every partition processed after killing {name}")
        seconds = time.monotonic() - killed
        report.append(
            f"kill -9 {name}, {how}: processed again after {seconds:.1f} s (sent {sent:,})"
        )
        say(report[-1])

    kill("a", "restarted at once", lambda: fleet.start("a"))
    kill("b", "restarted after the session timeout", lambda: (
        time.sleep(SESSION_TIMEOUT + 2), fleet.start("b")))  # fmt: skip
    kill("c", "restarted on an empty disk", lambda: fleet.start("c", empty_disk=True))

    time.sleep(gap)
    producer.resume.clear()
    producer.drained.wait(60)  # or the producer has finished
    stack("down", "kafka")
    time.sleep(10)
    stack("up", "kafka")
    producer.resume.set()
    before = fleet.processed()
    seconds = until(
        lambda: fleet.processed() > before and fleet.all_processing(),
        bound,
        "scoring again after the broker's restart",
    )
    report.append(f"broker stopped 10 s: scoring again {seconds:.1f} s after its restart")
    say(report[-1])

    time.sleep(gap)
    stack("down", "postgres")
    time.sleep(60)
    stack("up", "postgres")
    report.append("PostgreSQL stopped for 60 s")
    say(report[-1])

    kill("a", "restarted at once", lambda: fleet.start("a"))
    kill("b", "restarted at once", lambda: fleet.start("b"))
    return report


def profile_counts(fleet: Fleet, users: list[str]) -> dict[str, int | None]:
    """Each user's profile count, asked of any worker (each routes to the owner)."""
    counts: dict[str, int | None] = {}
    urls = [w.url for w in fleet.workers.values()]
    for i, user in enumerate(users):
        status, body = http_json(f"{urls[i % 3]}/users/{urllib.parse.quote(user)}")
        counts[user] = body["profile"]["count"] if status == 200 else None
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--rate", type=float, default=600.0, help="transactions per second")
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--gap", type=float, default=15.0, help="seconds between faults")
    parser.add_argument("--bound", type=float, default=180.0, help="longest recovery allowed (s)")
    parser.add_argument("--no-busy-core", action="store_true")
    opts = parser.parse_args(argv)

    run_id = time.strftime("%Y%m%d%H%M%S")
    workdir = ROOT / "var" / "chaos" / run_id
    workdir.mkdir(parents=True)
    env = stack_env()
    admin_env = dict(env)
    database = f"bench_{run_id}_chaos"
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    prefix = f"chaos-{run_id}-"
    env = {
        **os.environ,
        **env,
        "DATABASE_URL": env["DATABASE_URL"].rsplit("/", 1)[0] + f"/{database}",
        "TXWATCH_APP_ID": f"txwatch-chaos-{run_id}",
        "TXWATCH_TOPIC_PREFIX": prefix,
        "TXWATCH_MODEL_PATH": str(workdir / "no-model.npz"),  # rules alone: deterministic
        "TOPIC_PARTITIONS": str(opts.partitions),
        "TABLE_STANDBY_REPLICAS": "1",
        "BROKER_SESSION_TIMEOUT": str(SESSION_TIMEOUT),
        "PYTHONUNBUFFERED": "1",
    }
    busy = None if opts.no_busy_core else subprocess.Popen([sys.executable, "-c", "while 1: pass"])
    say(f"run {run_id}: {opts.count:,} transactions for {opts.users:,} users at {opts.rate:g}/s"
        f"{'' if busy is None else ', one core kept busy'}; logs in {workdir}")  # fmt: skip
    config = SimulatorConfig(users=opts.users, fraud_rate=0.02, seed=2323)
    transactions = list(simulate(config, opts.count))
    produced = {tx.transaction_id: tx.user_id for tx in transactions}
    messages = [(tx.user_id.encode(), orjson.dumps(tx.to_dict())) for tx in transactions]
    servers = bootstrap(env)
    fleet = None
    failures: list[str] = []
    try:
        fleet = Fleet(env, workdir, opts.partitions)
        reader = ScoreReader(servers, prefix + "scores")
        reader.start()
        producer = Producer(servers, prefix + "transactions", messages, opts.rate)
        producer.start()
        report = faults(fleet, producer, opts.bound, opts.gap)
        producer.done.wait()
        if producer.error is not None:
            raise RuntimeError(f"producing failed: {producer.error!r}")
        say("all sent; waiting until every transaction is scored")
        stalled = reader.wait_for(set(produced), idle=120)
        if stalled:
            failures.append(f"stalled: no new score for 120 s with {stalled:,} unscored")
        time.sleep(5)  # the sinks' last batches
        with psycopg.connect(env["DATABASE_URL"]) as conn:
            stored = [row[0] for row in conn.execute("SELECT transaction_id FROM anomalies")]
        result = audit(
            produced,
            reader.verdicts(),
            stored,
            profile_counts(fleet, sorted(set(produced.values()))),
        )
        failures += result.failures()
        print("\n".join(["make chaos", *report, *result.lines()]))
        for name, examples in result.examples.items():
            if examples:
                print(f"  e.g. {name}: {examples}")
    except Exception as exc:
        traceback.print_exc()
        failures.append(f"run aborted: {exc!r}")
    finally:
        if fleet is not None:
            fleet.stop()
        if busy is not None:
            busy.kill()
        asyncio.run(delete_topics(servers, run_id))
        drop_databases(admin_env, run_id)
    print("FAILED: " + "; ".join(failures) if failures else "passed: nothing lost, nothing doubled")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
