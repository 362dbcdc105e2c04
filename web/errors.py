"""JSON error responses: every refused request says why, with a 4xx status."""

from __future__ import annotations

from faust.web import Response, View


def error(view: View, status: int, message: str) -> Response:
    """A JSON ``{"error": message}`` response with ``status``."""
    return view.json({"error": message, "status": status}, status=status)
