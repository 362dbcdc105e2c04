"""Fixtures for tests against the real stack: a Kafka broker, PostgreSQL and
txwatch workers started as processes.

One stack serves the whole session. It is started here unless it already
runs (``make stack-up``), and only what was started here is stopped again.
Every test session works in its own topics and consumer groups, and deletes
its topics at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "stack" / "stack.sh"
FAUST = Path(sys.executable).with_name("faust")
ARTIFACTS = ROOT / "test-artifacts"


@dataclass(frozen=True)
class Stack:
    """Where the session's broker and database are."""

    broker_url: str
    database_url: str
    run_id: str

    @property
    def bootstrap(self) -> str:
        """host:port for Kafka clients that take no URL scheme."""
        return self.broker_url.removeprefix("kafka://")

    def topic(self, name: str) -> str:
        """A topic name private to this test session."""
        return f"test-{self.run_id}-{name}"


def _stack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(STACK), *args], cwd=ROOT, text=True, capture_output=True, check=False
    )


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The running stack; started for the session if it was not running."""
    started = [part for part in ("kafka", "postgres") if _stack("status", part).returncode != 0]
    if started:
        result = _stack("up", *started)
        if result.returncode != 0:
            _stack("down", *started)
            pytest.fail(f"stack did not start:\n{result.stdout}\n{result.stderr}")
    env = dict(line.split("=", 1) for line in _stack("env").stdout.split())
    the_stack = Stack(env["BROKER_URL"], env["DATABASE_URL"], uuid.uuid4().hex[:8])
    try:
        yield the_stack
    finally:
        _delete_session_topics(the_stack)
        if started:
            _stack("down", *started)


def _delete_session_topics(stack: Stack) -> None:
    # Kafka's admin client is the only client at hand that deletes topics.
    import asyncio

    from aiokafka.admin import AIOKafkaAdminClient

    async def delete() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
        await admin.start()
        try:
            ours = [t for t in await admin.list_topics() if stack.run_id in t]
            if ours:
                await admin.delete_topics(ours)
        finally:
            await admin.close()

    asyncio.run(delete())


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Worker:
    """A ``faust -A app worker`` process of this test session."""

    name: str
    env: dict[str, str]
    workdir: Path
    web_port: int
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.workdir / f"{self.name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def start(self, ready_timeout: float = 90.0) -> Worker:
        """Start the process and wait until it has partitions and serves HTTP."""
        log = self.log_path.open("ab")
        seen = log.tell()  # a restarted worker appends to its log: read only what is new
        self.process = subprocess.Popen(
            [str(FAUST), "-A", "app", "worker", "-l", "info"],
            cwd=self.workdir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"worker {self.name} exited:\n{self.log_tail()}")
            if b"[^Worker]: Ready" in self.log_path.read_bytes()[seen:]:
                return self
            time.sleep(0.2)
        raise AssertionError(
            f"worker {self.name} not ready in {ready_timeout}s:\n{self.log_tail()}"
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 30.0) -> None:
        """Stop gracefully (SIGTERM); kill if it does not stop in time."""
        if not self.alive():
            return
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def kill(self) -> None:
        """kill -9, as a crash would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, dict]:
        """GET ``path``; the status and the decoded JSON body."""
        return self.request("GET", path, timeout=timeout)

    def request(
        self, method: str, path: str, body: bytes | None = None, timeout: float = 5.0
    ) -> tuple[int, dict]:
        """``method path`` with ``body``; the status and the decoded JSON body."""
        request = urllib.request.Request(self.url + path, data=body, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, orjson.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, orjson.loads(exc.read() or b"{}")

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def create_database(stack: Stack, name: str) -> str:
    """A new, empty database on the stack's server; its URL."""
    import psycopg

    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return stack.database_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(stack: Stack, name: str) -> None:
    import psycopg

    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Workers:
    """The workers of one test: one app id, one set of topics and one database, all private."""

    def __init__(self, stack: Stack, workdir: Path) -> None:
        suffix = uuid.uuid4().hex[:6]
        self.stack = stack
        self.workdir = workdir
        self.prefix = stack.topic(f"{suffix}-")
        self.database = f"test_{stack.run_id}_{suffix}"
        self.database_url = create_database(stack, self.database)
        self.env = {
            **os.environ,
            "BROKER_URL": stack.broker_url,
            "DATABASE_URL": self.database_url,
            "TXWATCH_APP_ID": f"txwatch-test-{stack.run_id}-{suffix}",
            "TXWATCH_TOPIC_PREFIX": self.prefix,
            "TXWATCH_MODEL_PATH": str(workdir / "no-model.npz"),
            "TOPIC_PARTITIONS": "4",
            "PYTHONUNBUFFERED": "1",
        }
        self.started: list[Worker] = []

    def topic(self, name: str) -> str:
        """The full name of one of this test's txwatch topics."""
        return self.prefix + name

    def __call__(self, name: str = "worker", **env: str) -> Worker:
        """A new worker (not started); ``env`` adds to or overrides the test's environment."""
        worker_env = {**self.env, **env}
        port = int(env.get("WEB_PORT") or free_port())
        worker_env["WEB_PORT"] = str(port)
        workdir = self.workdir / name
        workdir.mkdir(exist_ok=True)
        worker = Worker(name, worker_env, workdir, port)
        self.started.append(worker)
        return worker


@contextmanager
def private_workers(
    stack: Stack, workdir: Path, label: str, failed: Callable[[], bool]
) -> Iterator[Workers]:
    """Workers with their own app id, topics and database; all stopped and dropped at the end.

    If ``failed()`` says so at the end, the workers' logs are kept as test artifacts.
    """
    workers = Workers(stack, workdir)
    try:
        yield workers
    finally:
        for worker in workers.started:
            worker.stop()
            if failed():
                ARTIFACTS.mkdir(exist_ok=True)
                shutil.copy(worker.log_path, ARTIFACTS / f"{label}-{worker.name}.log")
        drop_database(stack, workers.database)
    leaked = [w.name for w in workers.started if w.alive()]
    assert not leaked, f"workers still running: {leaked}"


@pytest.fixture
def make_worker(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Workers]:
    """Factory of workers sharing this test's app id and topics; all stopped at the end."""

    def failed() -> bool:
        report = getattr(request.node, "rep_call", None)
        return report is not None and report.failed

    with private_workers(
        stack, tmp_path_factory.mktemp("workers"), request.node.name, failed
    ) as workers:
        yield workers


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    # Lets fixtures see whether the test failed, to keep the workers' logs.
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def wait_for(
    condition: Callable[[], object], timeout: float = 30.0, interval: float = 0.2
) -> object:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


async def _topic_partitions(stack: Stack, topic: str) -> list:
    """The TopicPartitions of ``topic``; empty if it does not exist."""
    from aiokafka import TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described["error_code"] != 0:
        return []
    return [TopicPartition(topic, p["partition"]) for p in described["partitions"]]


async def one_partition_topic(stack: Stack, topic: str, records: int) -> None:
    """Create ``topic`` with one partition holding ``records`` records (values "0", "1", ...)."""
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)
    await producer.start()
    try:
        for i in range(records):
            await producer.send_and_wait(topic, str(i).encode(), key=b"k", partition=0)
    finally:
        await producer.stop()


def read_topic(stack: Stack, topic: str) -> list[tuple[bytes | None, bytes, dict[str, bytes]]]:
    """Every message now in ``topic``: (key, value, headers), partition by partition."""
    import asyncio

    from aiokafka import AIOKafkaConsumer

    async def read() -> list[tuple[bytes | None, bytes, dict[str, bytes]]]:
        tps = await _topic_partitions(stack, topic)
        if not tps:
            return []
        consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            out = []
            for tp in tps:
                while await consumer.position(tp) < ends[tp]:
                    batch = await consumer.getmany(tp, timeout_ms=5000)
                    for record in batch.get(tp, []):
                        if record.offset < ends[tp]:
                            out.append((record.key, record.value, dict(record.headers or ())))
            return out
        finally:
            await consumer.stop()

    return asyncio.run(read())


def topic_size(stack: Stack, topic: str) -> int:
    """How many messages ``topic`` holds (the sum of its partitions' end offsets)."""
    import asyncio

    from aiokafka import AIOKafkaConsumer

    async def size() -> int:
        tps = await _topic_partitions(stack, topic)
        if not tps:
            return 0
        consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap)
        await consumer.start()
        try:
            return sum((await consumer.end_offsets(tps)).values())
        finally:
            await consumer.stop()

    return asyncio.run(size())


def scored_ids(stack: Stack, topic: str) -> set[str]:
    """The transaction ids on the scores ``topic``, each once however often it was sent."""
    return {orjson.loads(value)["transaction_id"] for _, value, _ in read_topic(stack, topic)}


def wait_until_scored(workers: Any, ids: set[str], timeout: float) -> set[str]:
    """Wait until each of ``ids`` has a score; every id on the scores topic.

    After a crash or a rebalance, outputs are at-least-once: re-sent scores
    make the topic reach ``len(ids)`` messages before the last ones are in,
    so the size alone is not enough to wait on.
    """
    topic = workers.topic("scores")
    wait_for(lambda: topic_size(workers.stack, topic) >= len(ids), timeout)
    found: set[str] = set()

    def all_in() -> bool:
        found.clear()
        found.update(scored_ids(workers.stack, topic))
        return found >= ids

    try:
        wait_for(all_in, timeout, interval=1.0)
    except AssertionError:
        missing = sorted(ids - found)
        raise AssertionError(f"{len(missing)} never scored, such as {missing[:5]}") from None
    return found


def run_command(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    """Run ``faust -A app <args>`` with a worker's environment; its output."""
    result = subprocess.run(
        [str(FAUST), "-A", "app", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"faust {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def kcat(stack: Stack, *args: str, stdin: bytes | None = None, timeout: float = 30) -> bytes:
    """Run kcat against the session's broker; its standard output."""
    result = subprocess.run(
        ["kcat", "-b", stack.bootstrap, *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"kcat {' '.join(args)} failed: {result.stderr.decode()}")
    return result.stdout


def wait_for_user_counts(worker: Worker, per_user: dict[str, int], timeout: float) -> None:
    """Wait until ``worker`` reports each user's profile count as ``per_user`` says.

    Raises AssertionError naming up to ten users that still differ.
    """
    mismatches: dict[str, tuple[int, object]] = {}

    def counts_match() -> bool:
        mismatches.clear()
        for user, count in per_user.items():
            status, body = worker.get(f"/users/{user}")  # routed to the owner
            got = body["profile"]["count"] if status == 200 else status
            if got != count:
                mismatches[user] = (count, got)
        return not mismatches

    try:
        wait_for(counts_match, timeout=timeout, interval=2.0)
    except AssertionError:
        sample = dict(list(mismatches.items())[:10])
        stats = worker.get("/stats")[1]
        raise AssertionError(
            f"{len(mismatches)} users differ (expected, got): {sample}; {stats}"
        ) from None
