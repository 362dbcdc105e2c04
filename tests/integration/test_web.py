"""The web views of two workers sharing eight partitions, and the dashboard in Chromium.

One pair of workers and one stream serve the whole module: starting workers
is the slow part, and every test here only reads.
"""

from __future__ import annotations

import random
import subprocess
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from tests.integration.conftest import (
    ARTIFACTS,
    FAUST,
    Worker,
    Workers,
    private_workers,
    run_command,
    wait_for,
)

pytestmark = pytest.mark.integration

USERS = 200
COUNT = 6000
SEED = 11


@dataclass
class Cluster:
    workers: Workers
    a: Worker
    b: Worker
    counts: Counter[str]  # transactions per user in the stream


def assigned(worker: Worker) -> int:
    status, health = worker.get("/health")
    return len(health["kafka"]["assigned_partitions"]) if status == 200 else -1


@pytest.fixture(scope="module")
def cluster(stack, tmp_path_factory, request) -> Cluster:
    failures_before = request.session.testsfailed
    workdir = tmp_path_factory.mktemp("web")
    with private_workers(
        stack, workdir, "web", lambda: request.session.testsfailed > failures_before
    ) as workers:
        workers.env["TOPIC_PARTITIONS"] = "8"
        workers.env["TXWATCH_PRECISION_SECONDS"] = "1"
        a = workers("a").start()
        b = workers("b").start()
        # B's arrival rebalances: wait until the eight partitions are split.
        wait_for(lambda: assigned(a) > 0 and assigned(b) > 0 and assigned(a) + assigned(b) == 8,
                 timeout=90)  # fmt: skip
        path = workdir / "tx.jsonl"
        run_command(
            workers.env, "produce", "--users", str(USERS), "--count", str(COUNT),
            "--fraud-rate", "0.05", "--seed", str(SEED), "--to-file", str(path),
        )  # fmt: skip
        counts = Counter(orjson.loads(line)["user_id"] for line in path.read_bytes().splitlines())
        run_command(workers.env, "replay", str(path))
        wait_for(
            lambda: a.get("/stats")[1]["processed"] + b.get("/stats")[1]["processed"] >= COUNT,
            timeout=180,
        )

        def alerts_stored() -> bool:
            raised = a.get("/stats")[1]["alerts"] + b.get("/stats")[1]["alerts"]
            return a.get("/anomalies/stats")[1].get("total") == raised

        wait_for(alerts_stored, timeout=60)
        yield Cluster(workers, a, b, counts)


def without_time(answer: dict) -> dict:
    """A score answer without the moment it was computed."""
    score = {k: v for k, v in answer["score"].items() if k != "detected_at"}
    return {**answer, "score": score}


def test_any_worker_gives_the_owners_answer_for_100_random_users(cluster):
    users = random.Random(SEED).sample(sorted(cluster.counts), 100)
    owners = set()
    for user in users:
        quoted = urllib.parse.quote(user, safe="")
        for path in (f"/users/{quoted}", f"/users/{quoted}/velocity"):
            status_a, from_a = cluster.a.get(path)
            status_b, from_b = cluster.b.get(path)
            assert (status_a, status_b) == (200, 200), (path, from_a, from_b)
            assert from_a == from_b, path
        assert from_a["user_id"] == user
        assert cluster.a.get(f"/users/{quoted}")[1]["profile"]["count"] == cluster.counts[user]

        query = urllib.parse.urlencode(
            {"user_id": user, "amount": "4321.5", "location": "ZZ", "timestamp": "1790000000"}
        )
        status_a, score_a = cluster.a.get(f"/score?{query}")
        status_b, score_b = cluster.b.get(f"/score?{query}")
        assert (status_a, status_b) == (200, 200), (score_a, score_b)
        assert without_time(score_a) == without_time(score_b)
        body = orjson.dumps(
            {"user_id": user, "amount": 4321.5, "location": "ZZ", "timestamp": 1790000000}
        )
        status_post, posted = cluster.b.request("POST", "/score", body)
        assert status_post == 200, posted
        assert without_time(posted) == without_time(score_a)
        assert score_a["user_history"] == cluster.counts[user]
        owners.add(score_a["scored_by"])
    # Both workers own some of the users, so half the answers were forwarded.
    assert {urllib.parse.urlsplit(o).port for o in owners} == {
        cluster.a.web_port,
        cluster.b.web_port,
    }
    # Scoring on request learnt nothing.
    for user in users[:10]:
        quoted = urllib.parse.quote(user, safe="")
        assert cluster.b.get(f"/users/{quoted}")[1]["profile"]["count"] == cluster.counts[user]


def test_stats_say_what_each_worker_did_and_what_the_cluster_stored(cluster):
    total = 0
    for worker in (cluster.a, cluster.b):
        status, stats = worker.get("/stats")
        assert status == 200
        assert stats["scope"] == "worker"
        assert stats["processed"] > 0
        assert set(stats["latency_ms"]) == {"p50", "p95", "p99", "max", "samples"}
        assert 0 < stats["latency_ms"]["p50"] <= stats["latency_ms"]["p99"]
        assert len(stats["timeline"]) == 60
        assert sum(stats["by_level"].values()) == stats["processed"]
        assert stats["cluster"]["scope"] == "cluster"
        total += stats["processed"]
    assert total == COUNT

    # The sink writes after the scores are out, and /stats reuses its cluster figures for
    # CLUSTER_CACHE_SECONDS: both settle once every alert is stored.
    def cluster_agrees() -> bool:
        stored = cluster.a.get("/anomalies/stats")[1]["total"]
        return stored > 0 and cluster.a.get("/stats")[1]["cluster"]["alerts_last_hour"] == stored

    wait_for(cluster_agrees, timeout=30, interval=1.0)


LONG_ID = "u" * 300
SQL = "x' OR '1'='1'; DROP TABLE anomalies; --"

MALFORMED: list[tuple[str, str, bytes | None, int]] = [
    ("GET", f"/users/{LONG_ID}", None, 400),
    ("GET", f"/users/{urllib.parse.quote(SQL)}", None, 404),
    ("GET", f"/users/{LONG_ID}/velocity", None, 400),
    ("GET", "/users/u1/velocity/extra", None, 404),
    ("GET", "/anomalies?limit=100000000", None, 400),
    ("GET", "/anomalies?limit=-1", None, 400),
    ("GET", "/anomalies?limit=ten", None, 400),
    ("GET", "/anomalies?limit=1;DROP%20TABLE%20anomalies", None, 400),
    ("GET", f"/anomalies?risk_level={urllib.parse.quote(SQL)}", None, 400),
    ("GET", f"/anomalies?reason={urllib.parse.quote(SQL)}", None, 400),
    ("GET", "/anomalies?since=yesterday", None, 400),
    ("GET", "/anomalies?since=99999999999999", None, 400),
    ("GET", "/anomalies?colour=red", None, 400),
    ("GET", f"/anomalies/stats?user_id={LONG_ID}", None, 400),
    ("GET", "/score", None, 400),
    ("GET", "/score?user_id=u1", None, 400),
    ("GET", "/score?user_id=u1&amount=NaN", None, 400),
    ("GET", "/score?user_id=u1&amount=1e400", None, 400),
    ("GET", "/score?user_id=u1&amount=-3", None, 400),
    ("GET", "/score?user_id=u1&amount=3&timestamp=soon", None, 400),
    ("GET", "/score?user_id=u1&amount=3&colour=red", None, 400),
    ("GET", f"/score?user_id={LONG_ID}&amount=3", None, 400),
    ("POST", "/score", b"", 400),
    ("POST", "/score", b"{not json", 400),
    ("POST", "/score", b"[1, 2]", 400),
    ("POST", "/score", b'{"user_id": ["u1"], "amount": 3}', 400),
    ("POST", "/score", b'{"user_id": "u1", "amount": "3"}', 400),
    ("POST", "/score", b'{"user_id": "u1", "amount": 3, "x": "' + b"y" * 200_000 + b'"}', 413),
    ("PUT", "/stats", b"{}", 405),
    ("DELETE", "/users/u1", None, 405),
    ("GET", "/no/such/path", None, 404),
    ("GET", "/static/..%2F..%2Fsetup.cfg", None, 404),
    ("GET", "/static/missing.js", None, 404),
]


@pytest.mark.parametrize(("method", "path", "body", "expected"), MALFORMED)
def test_malformed_requests_get_a_4xx_with_a_message(cluster, method, path, body, expected):
    status, answer = cluster.a.request(method, path, body)
    assert status == expected, answer
    assert answer["status"] == expected
    assert answer["error"]


def test_sql_metacharacters_in_a_filter_are_data_not_sql(cluster):
    status, answer = cluster.a.get(f"/anomalies?user_id={urllib.parse.quote(SQL)}")
    assert status == 200
    assert answer["count"] == 0
    assert cluster.a.get("/anomalies/stats")[1]["total"] > 0  # the table is still there


def chrome(download_dir: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",  # running as root in CI
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-extensions",
        "--window-size=1400,1500",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def test_dashboard_draws_live_charts_and_fills_the_alerts_table(cluster, tmp_path):
    from selenium.webdriver.common.by import By

    # Live traffic while the page is open, so the charts have something to draw.
    feeder = subprocess.Popen(
        [str(FAUST), "-A", "app", "produce", "--users", str(USERS), "--count", "3000",
         "--rate", "150", "--fraud-rate", "0.05", "--seed", str(SEED + 1)],
        env=cluster.workers.env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    browser = chrome(tmp_path)
    try:
        browser.get(cluster.a.url + "/")
        script = browser.execute_script

        def charts_drawn() -> bool:
            canvases = [
                browser.find_element(By.ID, i) for i in ("throughput-chart", "alert-rate-chart")
            ]
            return (
                all(c.get_attribute("data-points") == "60" for c in canvases)
                and float(canvases[0].get_attribute("data-max") or 0) > 0
            )

        wait_for(charts_drawn, timeout=60, interval=0.5)
        wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#alerts-table tbody tr"),
                 timeout=60, interval=0.5)  # fmt: skip
        # The charts are real pixels: count the painted ones on the throughput canvas.
        painted = script(
            "const c = document.getElementById('throughput-chart');"
            "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
            "let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n;"
        )
        assert painted > 1000
        assert int(browser.find_element(By.ID, "levels").get_attribute("data-total")) > 0
        assert browser.find_element(By.ID, "health").get_attribute("data-state") == "ok"
        first_row = browser.find_element(By.CSS_SELECTOR, "#alerts-table tbody tr")
        assert first_row.find_elements(By.TAG_NAME, "td")[5].text  # its reasons
        float(browser.find_element(By.ID, "events-per-second").text.replace(",", ""))

        user = cluster.counts.most_common(1)[0][0]
        browser.find_element(By.ID, "lookup-user").send_keys(user)
        browser.find_element(By.CSS_SELECTOR, "#lookup button").click()
        wait_for(lambda: browser.find_element(By.ID, "lookup-result").is_displayed(), timeout=10)
        facts = browser.find_element(By.ID, "lookup-profile").text
        assert "transactions" in facts
        assert "typical amount" in facts

        # Labels for two stored alerts, one fraud and one genuine: the precision table
        # shows them settled, from PostgreSQL, with the misses beside.
        stored = cluster.a.get("/anomalies?limit=2")[1]["anomalies"]
        assert len(stored) == 2
        labels = [
            {"transaction_id": alert["transaction_id"], "user_id": alert["user_id"],
             "label": outcome, "known_at": "2026-12-01T00:00:00Z", "source": "review"}
            for alert, outcome in zip(stored, (1, 0), strict=True)
        ]  # fmt: skip
        file = tmp_path / "labels.jsonl"
        file.write_bytes(b"\n".join(orjson.dumps(label) for label in labels) + b"\n")
        run_command(cluster.workers.env, "replay", "--labels", str(file))

        def precision_rows() -> list[list[str]]:
            rows = browser.find_elements(By.CSS_SELECTOR, "#precision-table tbody tr")
            return [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in rows]

        def model_row_shows_both() -> bool:
            return any(r[0] == "model" and r[2:] == ["2", "1", "50 %"] for r in precision_rows())

        wait_for(model_row_shows_both, timeout=60, interval=0.5)
        assert "never alerted on" in browser.find_element(By.ID, "precision-note").text

        time.sleep(2.5)  # one more round of polling, to catch errors in updates too
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "dashboard.png"))
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
    finally:
        browser.quit()
        feeder.terminate()
        feeder.wait(30)
