"""``GET /``: what this worker serves."""

from __future__ import annotations

from faust.web import Request, Response, View

from app import app

ENDPOINTS = {
    "/health": "Kafka, PostgreSQL and model state; 200 or 503",
    "/stats": "this worker's counters and the database sink's state",
    "/users/{user_id}": "a user's profile, from whichever worker owns it",
    "/users/{user_id}/velocity": "a user's recent activity, likewise",
    "/anomalies": "stored anomalies: ?user_id=&risk_level=&reason=&since=&until=&limit=",
    "/anomalies/stats": "stored anomalies counted by reason, level and hour",
    "/model": "the model in use",
    "/metrics": "Prometheus metrics of this worker",
}


@app.page("/")
class IndexView(View):
    """The service's front door: its name, version and endpoints."""

    async def get(self, request: Request) -> Response:
        return self.json({"service": "txwatch", "app_id": app.conf.id, "endpoints": ENDPOINTS})
