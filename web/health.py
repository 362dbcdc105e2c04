"""``GET /health``: can this worker do its job? 200 if so, 503 with the reasons if not."""

from __future__ import annotations

from typing import Any

from faust.web import Request, Response, View

from app import app
from app.database.runtime import alert_writer
from app.detection import detector
from app.topics import assigned_transactions_partitions
from app.watchdog import recovery_report


def health_report() -> tuple[bool, dict[str, Any]]:
    """Whether the worker is healthy, and what each part says."""
    problems: list[str] = []
    try:
        assigned = [f"{tp.topic}:{tp.partition}" for tp in assigned_transactions_partitions()]
    except Exception as exc:  # the consumer is not running (yet)
        assigned = []
        problems.append(f"kafka consumer not ready: {exc!r}")
    database = alert_writer().status.as_dict()
    if database["state"] == "down":
        problems.append(database["summary"])
    stalled, recovery = recovery_report()
    if stalled:
        problems.append(stalled)
    model = detector().model
    report = {
        "status": "ok" if not problems else "unhealthy",
        "problems": problems,
        "kafka": {"assigned_partitions": assigned},
        "postgresql": database,
        "recovery": recovery,
        "model": (
            {"loaded": True, "version": model.version}
            if model is not None
            else {"loaded": False, "note": "no model file: scoring by rules alone"}
        ),
    }
    return not problems, report


@app.page("/health")
class HealthView(View):
    """200 when Kafka and PostgreSQL answer and recovery reads on; 503 with the problems if not."""

    async def get(self, request: Request) -> Response:
        healthy, report = health_report()
        return self.json(report, status=200 if healthy else 503)
