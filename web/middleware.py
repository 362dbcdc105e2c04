"""aiohttp middleware: every error answer is JSON with a message, whoever raised it.

Faust's views already answer JSON; this covers what happens outside them
(an unknown path, a method a view lacks, an oversized body) and turns an
unexpected exception into a logged 500 with a JSON body instead of
aiohttp's plain-text page. It imports nothing of the app, so the app's
settings can name it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _answer(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message, "status": status}, status=status, headers=headers)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer HTTP errors and unexpected exceptions as ``{"error": ..., "status": ...}``."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.status == 404:
            message = f"no such endpoint: {request.path[:128]} (see /api)"
        elif exc.status == 405:
            message = f"{request.method} is not allowed on {request.path[:128]}"
        else:
            message = exc.text or exc.reason
        allow = exc.headers.get("Allow")
        return _answer(exc.status, message, {"Allow": allow} if allow else None)
    except Exception:
        logger.exception("unexpected error answering %s %s", request.method, request.path[:128])
        return _answer(500, "internal error; the worker's log has the details")
