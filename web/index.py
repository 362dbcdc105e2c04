"""``GET /``: what this worker serves."""

from __future__ import annotations

from faust.web import Request, Response, View

from app import app

ENDPOINTS = {
    "/stats": "this worker's counters",
    "/users/{user_id}": "a user's profile, from whichever worker owns it",
}


@app.page("/")
class IndexView(View):
    """The service's front door: its name, version and endpoints."""

    async def get(self, request: Request) -> Response:
        return self.json({"service": "txwatch", "app_id": app.conf.id, "endpoints": ENDPOINTS})
