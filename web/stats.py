"""``GET /stats``: what this worker has done since it started."""

from __future__ import annotations

from faust.web import Request, Response, View

from app import app
from app.counters import counters
from app.database.runtime import alert_writer


@app.page("/stats")
class StatsView(View):
    """This worker's counters (per worker, not cluster-wide)."""

    async def get(self, request: Request) -> Response:
        return self.json(
            {
                "scope": "worker",
                **counters.as_dict(),
                "database": alert_writer().status.as_dict(),
            }
        )
