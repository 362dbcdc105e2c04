"""(g) Recovery at scale: how soon a worker holding N users (default 1,000,000) works again.

Two workers with a standby replica each learn one transaction per user
(so each holds every user, half as standby). Then:

- **standby takeover**: one is killed with -9; seconds until the other has
  every partition, its tables recovered;
- **restart on its own disk**: the survivor is killed with -9 and started
  again at once on its own RocksDB; seconds until it has every partition
  recovered (the group first waits out the dead member's session);
- **replay on an empty disk**: it is stopped, its tables removed, and
  started again: seconds until recovered, and changelog records restored
  per second beside a raw aiokafka consumer reading (and decoding) the same
  changelog in the same run;
- the worker's peak RSS holding the N users (all active) after the replay.

Targets (issue 23): the takeover and the own-disk restart within the
group's session timeout plus one rebalance; the replay at 0.25 x the raw
read rate or more.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench.run import (
    Options,
    Worker,
    create_topic,
    http_json,
    keep_only,
    pipeline_env,
    produce_all,
    raw_consume,
    say,
)

SESSION_TIMEOUT = 10  # seconds, for both workers


def one_per_user(users: int, seed: int = 11) -> list[tuple[bytes, bytes]]:
    """One valid transaction for each of ``users`` users, keyed by user."""
    rng = random.Random(seed)
    start = 1767225600  # 2026-01-01
    messages = []
    for i in range(users):
        user = f"r{i:07d}"
        tx = {
            "transaction_id": f"rec-{i:07d}",
            "user_id": user,
            "amount": round(rng.lognormvariate(3.5, 1.0), 2),
            "timestamp": start + i // 50,
            "location": rng.choice(("US", "GB", "DE", "FR", "NL")),
        }
        messages.append((user.encode(), orjson.dumps(tx)))
    return messages


def recovered(workers: list[Worker], partitions: int) -> bool:
    """Every partition held by these workers, each healthy and its tables recovered."""
    held = 0
    for worker in workers:
        status, health = http_json(worker.url + "/health")
        if status != 200 or health["recovery"]["state"] != "ok":
            return False
        held += len(health["kafka"]["assigned_partitions"])
    return held == partitions


def until(condition: Callable[[], object], timeout: float, what: str = "recovery") -> float:
    """Seconds until ``condition()`` holds; raises after ``timeout`` naming ``what``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what} not within {timeout:.0f} s")
        time.sleep(0.2)
    return time.monotonic() - started


async def changelog_size(servers: str, topic: str) -> int:
    """Records in ``topic`` (the sum of its partitions' end offsets, none compacted away)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    tps = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    if not tps:
        raise RuntimeError(f"no topic {topic}")
    consumer = AIOKafkaConsumer(bootstrap_servers=servers)
    await consumer.start()
    try:
        return sum((await consumer.end_offsets(tps)).values())
    finally:
        await consumer.stop()


def kill(worker: Worker) -> None:
    os.killpg(worker.process.pid, signal.SIGKILL)
    worker.process.wait(10)


def measure_recovery(opts: Options, env: dict[str, str], servers: str) -> dict[str, Any]:
    """The figures of (g); see the module's docstring."""
    users, partitions = opts.recovery_users, opts.partitions
    wenv = {
        **pipeline_env(opts, env, "recovery"),
        "TABLE_STANDBY_REPLICAS": "1",
        "BROKER_SESSION_TIMEOUT": str(SESSION_TIMEOUT),
    }
    topic = f"bench-{opts.run_id}-recovery-transactions"
    wenv["TXWATCH_TOPIC_PREFIX"] = f"bench-{opts.run_id}-recovery-"
    asyncio.run(create_topic(servers, topic, partitions))
    say(f"(g) {users:,} users: one transaction each, two workers with standbys")
    asyncio.run(produce_all(servers, topic, one_per_user(users)))
    a = Worker("recovery-a", "app", wenv, opts.workdir)
    b = Worker("recovery-b", "app", wenv, opts.workdir)
    try:
        for worker in (a, b):
            worker.wait_ready(600)
        until(lambda: sum(w.stats().get("processed", 0) for w in (a, b)) >= users, 3600)
        changelog = f"{wenv['TXWATCH_APP_ID']}-users-changelog"
        records = asyncio.run(changelog_size(servers, changelog))
        time.sleep(2 * SESSION_TIMEOUT)  # standbys caught up, offsets recorded

        say("(g) standby takeover: kill -9 one worker")
        kill(a)
        takeover = until(lambda: recovered([b], partitions), 600)

        say("(g) restart on its own disk: kill -9 the other, start it again")
        kill(b)
        b = Worker("recovery-b", "app", wenv, opts.workdir)
        own_disk = until(lambda: recovered([b], partitions), 900)

        say("(g) replay from an empty disk")
        b.stop()
        keep_only(b.dir, b.log)
        b = Worker("recovery-b", "app", wenv, opts.workdir)
        replay = until(lambda: recovered([b], partitions), 3600)
        rss = b.peak_rss_mb()
        raw = asyncio.run(raw_consume(servers, changelog, records))
    finally:
        for worker in (a, b):
            worker.stop()
            keep_only(worker.dir, worker.log)
    restored = records / replay
    return {
        "recovery_users": users,
        "changelog_records": records,
        "session_timeout_s": SESSION_TIMEOUT,
        "standby_takeover_s": round(takeover, 1),
        "own_disk_restart_s": round(own_disk, 1),
        "empty_disk_replay_s": round(replay, 1),
        "replay_records_per_s": round(restored),
        "raw_read_records_per_s": round(raw),
        "replay_over_raw": round(restored / raw, 2),
        "rss_mb_all_users": round(rss),
    }


def recovery_lines(figures: dict[str, Any]) -> list[str]:
    """Step (g)'s figures for the report, each beside its target.

    >>> print("\\n".join(recovery_lines({
    ...     "recovery_users": 1000, "changelog_records": 1000, "session_timeout_s": 10,
    ...     "standby_takeover_s": 12.5, "own_disk_restart_s": 30.0, "empty_disk_replay_s": 4.0,
    ...     "replay_records_per_s": 250, "raw_read_records_per_s": 2000,
    ...     "replay_over_raw": 0.12, "rss_mb_all_users": 300})))
    (g) recovery with 1,000 users (1,000 changelog records; session timeout 10 s)
        standby takeover after kill -9      12.5 s
        restart on own disk after kill -9   30.0 s
        replay from an empty disk           4.0 s: 250 records/s, 0.12 x raw (2,000/s)
        worker RSS holding every user       300 MB
    """
    f = figures
    return [
        f"(g) recovery with {f['recovery_users']:,} users ({f['changelog_records']:,} changelog "
        f"records; session timeout {f['session_timeout_s']} s)",
        f"    standby takeover after kill -9      {f['standby_takeover_s']} s",
        f"    restart on own disk after kill -9   {f['own_disk_restart_s']} s",
        f"    replay from an empty disk           {f['empty_disk_replay_s']} s: "
        f"{f['replay_records_per_s']:,} records/s, {f['replay_over_raw']} x raw "
        f"({f['raw_read_records_per_s']:,}/s)",
        f"    worker RSS holding every user       {f['rss_mb_all_users']} MB",
    ]
