"""The bench's report (a failed step shows as failed, with why; the rest still shows), where
the alerts' time went, and what a run leaves behind."""

import re
from pathlib import Path

import pytest

from bench.run import AlertTimes, detected_at, keep_only, split_times, table

MACHINE = {"cpu": "test CPU", "cores": 2, "memory_gb": 8.0}


def rows(text: str) -> dict[str, str]:
    """Each table line's measure -> the rest of the line."""
    out = {}
    for line in text.splitlines()[2:]:
        parts = re.split(r"\s{2,}", line.strip(), maxsplit=1)
        if len(parts) == 2:  # not the machine's line nor a failure's
            out[parts[0]] = parts[1]
    return out


def test_a_failed_step_is_shown_as_failed_with_its_reason_and_the_others_still_show():
    results = {
        "machine": MACHINE,
        "count": 1000,
        "users": 100,
        "full_pipeline_per_s": 3700,
        "full_pipeline_cpu_us_per_event": 250,
        "latency": [
            {"rate": 2000, "alert_p50_ms": 40.1, "alert_p99_ms": 120.5, "worker_cpu_pct": 85},
            {"rate": 1000, "alert_p50_ms": 20.0, "alert_p99_ms": 55.0, "worker_cpu_pct": 70},
        ],
        "worker_peak_rss_mb": 340,
        "failed": {"two": "the workers never shared the partitions"},
    }

    text = table(results)
    shown = rows(text)

    assert shown["(a) full pipeline, 1 worker"].startswith("3,700")
    assert shown["(d) produce→alert p99 at 2000/s"].startswith("120.5")
    assert shown["worker CPU meanwhile"].startswith("85")
    assert shown["p50 / p99 at 1000/s"].startswith("20.0 / 55.0 (70%, -, -)")
    assert shown["(f) full pipeline, 2 workers"].startswith("failed")
    assert shown["(b) floor: bare Faust agent"].startswith("not run")
    assert text.splitlines()[-1] == "step two failed: the workers never shared the partitions"


def test_a_failed_floor_gets_a_row_of_its_own():
    results = {
        "machine": MACHINE,
        "count": 1000,
        "users": 100,
        "failed": {"floor": "floor not ready in 120s"},
    }

    shown = rows(table(results))

    assert shown["floor: stock Faust agent"].startswith("failed")


def test_the_cpu_the_host_took_is_shown_beside_each_latency_run_and_for_the_whole_run():
    results = {
        "machine": {**MACHINE, "stolen_pct": 7.5},
        "count": 1000,
        "users": 100,
        "latency": [
            {"rate": 2000, "alert_p50_ms": 40.1, "alert_p99_ms": 120.5, "worker_cpu_pct": 85,
             "machine_stolen_pct": 21.0},
            {"rate": 1000, "alert_p50_ms": 20.0, "alert_p99_ms": 55.0, "worker_cpu_pct": 70,
             "machine_stolen_pct": 2.5},
        ],
    }  # fmt: skip

    text = table(results)
    shown = rows(text)

    assert shown["machine CPU stolen meanwhile"].startswith("21.0")
    assert shown["p50 / p99 at 1000/s"].startswith("20.0 / 55.0 (70%, -, 2.5%)")
    assert text.splitlines()[-1] == "CPU time its host took from the machine over the run: 7.5%"


def test_the_stolen_share_is_stolen_ticks_over_all_the_machines_ticks(monkeypatch):
    from bench.run import StolenShare

    readings = iter([(1000, 100), (2000, 300), (2000, 300)])
    monkeypatch.setattr(StolenShare, "_ticks", staticmethod(lambda: next(readings)))
    share = StolenShare()
    assert share.percent() == 20.0  # 200 of 1,000 ticks
    assert share.percent() == 20.0


def test_the_machines_ticks_are_read_from_proc_stat():
    from bench.run import StolenShare

    total, stolen = StolenShare._ticks()
    steal_now = int(Path("/proc/stat").read_text().split()[8])  # cpu user nice ... steal
    assert total > 0
    assert 0 <= stolen <= steal_now


def test_how_long_the_workers_loop_waited_for_a_cpu_is_shown_beside_its_cpu():
    results = {
        "machine": MACHINE,
        "count": 1000,
        "users": 100,
        "latency": [
            {"rate": 2000, "alert_p50_ms": 40.1, "alert_p99_ms": 120.5, "worker_cpu_pct": 85,
             "worker_waited_pct": 19, "machine_stolen_pct": 4.0},
            {"rate": 1000, "alert_p50_ms": 20.0, "alert_p99_ms": 55.0, "worker_cpu_pct": 70,
             "worker_waited_pct": 8, "machine_stolen_pct": 2.5},
        ],
    }  # fmt: skip

    shown = rows(table(results))

    assert shown["its event loop waited for a CPU"].startswith("19")
    assert shown["p50 / p99 at 1000/s"].startswith("20.0 / 55.0 (70%, 8%, 2.5%)")


def test_the_run_queue_wait_is_read_from_proc_for_a_live_process_only():
    import os
    import subprocess
    import sys

    from bench.run import run_queue_seconds

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        waited = run_queue_seconds(child.pid)
        assert waited is not None
        assert 0 <= waited < 30
        assert run_queue_seconds(os.getpid()) is not None
    finally:
        child.kill()
        child.wait()
    assert run_queue_seconds(child.pid) is None  # reaped: no such process


def test_the_latency_runs_warm_up_is_said_under_the_table_when_they_ran():
    results = {"machine": MACHINE, "count": 1000, "users": 100}

    assert "untimed" not in table(results)
    lines = table({**results, "latency_warmup_s": 15}).splitlines()

    assert lines[-1] == "latency runs after 15 s of untimed sending at the highest rate"


def test_a_stopped_workers_folder_keeps_its_log_and_nothing_else(tmp_path):
    log = tmp_path / "worker.log"
    log.write_text("Ready\n")
    tables = tmp_path / "txwatch-bench-1-a-data" / "v1" / "tables" / "users-0.db"
    tables.mkdir(parents=True)
    (tables / "000001.sst").write_bytes(b"x" * 100)
    (tmp_path / "stray.json").write_text("{}")

    keep_only(tmp_path, log)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["worker.log"]
    assert log.read_text() == "Ready\n"


def alert(sent, appended, scored, alerted, read):
    """An alert's times given in milliseconds after an arbitrary epoch second."""
    at = 1_800_000_000

    def ms(value):
        return None if value is None else at + value / 1000

    return AlertTimes(ms(sent), ms(appended), ms(scored), ms(alerted), ms(read))


def test_each_stretch_of_the_alerts_way_gets_its_p50_and_p99_and_the_slowest_percent_its_mean():
    # 99 alerts that took 10 ms, then one that waited 50 ms more for the worker's batch.
    times = [alert(0, 1, 4, 8, 10) for _ in range(99)] + [alert(0, 1, 54, 58, 60)]

    split = split_times(times)

    assert split["split_ms"] == {
        "to_broker": [1.0, 1.0],
        "waiting": [3.0, 53.0],
        "batch": [4.0, 4.0],
        "to_reader": [2.0, 2.0],
    }
    assert split["slowest_1pct_mean_ms"] == {
        "total": 60.0,
        "to_broker": 1.0,
        "waiting": 53.0,
        "batch": 4.0,
        "to_reader": 2.0,
    }


def test_without_the_workers_time_the_stretch_through_it_is_one_and_unknown_appends_are_left_out():
    times = [alert(0, 2, None, 7, 9), alert(0, None, None, 7, 9), alert(0, 2, None, None, 9)]

    split = split_times(times)

    assert split["split_ms"] == {
        "to_broker": [2.0, 2.0],
        "through_worker": [5.0, 5.0],
        "to_reader": [2.0, 2.0],
    }
    assert split_times(times[1:]) == {}


def test_an_alerts_detected_at_is_read_as_epoch_seconds():
    assert detected_at("2026-01-02T03:04:05.250000Z") == pytest.approx(1767323045.25)
    assert detected_at(None) is None


def test_where_the_alerts_time_went_is_said_under_the_table_for_each_run_that_has_it():
    split = split_times([alert(0, 1, 4, 8, 10)])
    results = {
        "machine": MACHINE,
        "count": 1000,
        "users": 100,
        "latency": [{"rate": 2000, "alert_p50_ms": 10.0, "alert_p99_ms": 10.0, **split}],
        "floor_latency": [{"rate": 2000, "alert_p50_ms": 4.0, "alert_p99_ms": 9.0}],
    }

    lines = table(results).splitlines()

    assert lines[-1] == (
        "(d) at 2000/s, ms, p50 / p99 (mean of the slowest 1%, 10.0 in all): "
        "to the broker 1.0 / 1.0 (1.0); waiting for the worker's batch 3.0 / 3.0 (3.0); "
        "in the batch, sent 4.0 / 4.0 (4.0); on to the reader 2.0 / 2.0 (2.0)"
    )
    assert not any(line.startswith("(d) floor at") for line in lines)


def test_a_stretch_that_rounds_to_zero_from_below_shows_as_zero_not_minus_zero():
    split = split_times([alert(0, -0.01, 1, 2, 3)])

    assert str(split["split_ms"]["to_broker"][0]) == "0.0"
