"""``GET /``: the live dashboard; ``GET /api``: the JSON endpoints this worker serves.

The dashboard is three static files in ``web/static`` (HTML, CSS, plain
JavaScript), read once at import: no front-end build step, nothing fetched
from elsewhere, so it works on an isolated network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from faust.web import Request, Response, View

from app import app
from web.errors import error

STATIC_DIR: Final = Path(__file__).parent / "static"

CONTENT_TYPES: Final = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
}

#: The dashboard's files by name: only these are served, whatever the path asks for.
STATIC_FILES: Final = {
    path.name: (path.read_bytes(), CONTENT_TYPES[path.suffix])
    for path in sorted(STATIC_DIR.iterdir())
    if path.suffix in CONTENT_TYPES
}

ENDPOINTS: Final = {
    "/": "the live dashboard (HTML)",
    "/health": "Kafka, PostgreSQL and model state; 200 or 503",
    "/stats": "this worker's counters, rates and latency; cluster-wide stored alerts",
    "/users/{user_id}": "a user's profile, from whichever worker owns it",
    "/users/{user_id}/velocity": "a user's recent activity, likewise",
    "/score": "score a transaction without learning it: GET ?user_id=&amount=&... or POST JSON",
    "/anomalies": "stored anomalies: ?user_id=&risk_level=&reason=&since=&until=&limit=",
    "/anomalies/stats": "stored anomalies counted by reason, level and hour",
    "/model": "the model in use",
    "/metrics": "Prometheus metrics of this worker",
}


def _file(view: View, name: str) -> Response:
    try:
        body, content_type = STATIC_FILES[name]
    except KeyError:
        return error(view, 404, f"no such file: {name[:64]!r}")
    return view.bytes(body, content_type=content_type, headers={"Cache-Control": "no-cache"})


@app.page("/")
class DashboardView(View):
    """The live dashboard."""

    async def get(self, request: Request) -> Response:
        return _file(self, "index.html")


@app.page("/static/{name}")
class StaticView(View):
    """The dashboard's stylesheet and script."""

    async def get(self, request: Request, name: str) -> Response:
        return _file(self, name)


@app.page("/api")
class ApiIndexView(View):
    """The service's name and the JSON endpoints it offers."""

    async def get(self, request: Request) -> Response:
        return self.json({"service": "txwatch", "app_id": app.conf.id, "endpoints": ENDPOINTS})
