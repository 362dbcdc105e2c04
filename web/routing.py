"""Routing a per-key request to the worker that owns the key.

A thin layer over :meth:`faust.App.table_route` that turns its failure modes
into answers a client can act on: no partition metadata yet (fetched, then
routed), a rebalance in progress or an unreachable owner (503, retry later).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

import aiohttp
from faust.types import CollectionT
from faust.web import Request, Response, View
from faust.web.exceptions import ServiceUnavailable

from app import app
from web.errors import error

logger = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[Response]]

_topics_with_metadata: set[str] = set()


async def _ensure_partition_metadata(topic: str) -> None:
    # Faust hashes the key with the producer's metadata, which holds only the
    # topics this process produced to: a worker that has not yet written to
    # a table's changelog cannot place its keys without asking the broker.
    if topic not in _topics_with_metadata:
        producer = app.producer._ensure_producer()  # the aiokafka producer
        await producer.partitions_for(topic)
        _topics_with_metadata.add(topic)


def route_to_owner(table: CollectionT, match_info: str) -> Callable[[Handler], Handler]:
    """Decorate a view method so any worker answers with the key owner's response."""

    def decorator(fun: Handler) -> Handler:
        routed = app.table_route(table=table, match_info=match_info)(fun)

        @wraps(fun)
        async def get(view: View, request: Request, *args: Any, **kwargs: Any) -> Response:
            try:
                await _ensure_partition_metadata(table.changelog_topic.get_topic_name())
                return await routed(view, request, *args, **kwargs)
            except ServiceUnavailable:
                return error(view, 503, "partitions are being rebalanced: retry shortly")
            except (aiohttp.ClientError, OSError) as exc:
                logger.warning("could not reach the owner of %s: %r", request.path, exc)
                return error(view, 503, "the worker that owns this key is unreachable")

        return get

    return decorator
