"""Routing a per-key request to the worker that owns the key.

A thin layer over :meth:`faust.App.table_route` that turns its failure modes
into answers a client can act on: a missing or oversized key (400), no
partition metadata yet (fetched, then routed), a rebalance in progress or an
unreachable owner (503, retry later), an owner still recovering its tables
(503: its web server answers before recovery ends, app/patches/early_web.py).
:func:`answer_from_owner` does the same for requests whose content
``table_route`` cannot forward (a body).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from functools import wraps
from typing import Any

import aiohttp
from faust.exceptions import SameNode
from faust.types import CollectionT
from faust.web import Request, Response, View
from faust.web.exceptions import ServiceUnavailable

from app import app
from app.patches.early_web import recovering
from models.transaction import MAX_TEXT_LENGTH
from web.errors import error

logger = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[Response]]

_topics_with_metadata: set[str] = set()

RECOVERING = "this worker is recovering its tables: retry shortly"


async def _ensure_partition_metadata(table: CollectionT) -> None:
    # Faust hashes the key with the producer's metadata, which holds only the
    # topics this process produced to: a worker that has not yet written to
    # a table's changelog cannot place its keys without asking the broker.
    topic = table.changelog_topic.get_topic_name()
    if topic not in _topics_with_metadata:
        producer = app.producer._ensure_producer()  # the aiokafka producer
        await producer.partitions_for(topic)
        _topics_with_metadata.add(topic)


def _key_problem(name: str, key: str | None) -> str | None:
    if not key:
        return f"{name} is required"
    if len(key) > MAX_TEXT_LENGTH:
        return f"{name} is longer than {MAX_TEXT_LENGTH} characters"
    return None


def route_to_owner(
    table: CollectionT, *, match_info: str | None = None, query_param: str | None = None
) -> Callable[[Handler], Handler]:
    """Decorate a view method so any worker answers with the key owner's response.

    The key comes from the path (``match_info``) or the query (``query_param``).
    """
    name = match_info or query_param
    if name is None:
        raise TypeError("route_to_owner needs match_info or query_param")

    def decorator(fun: Handler) -> Handler:
        @wraps(fun)
        async def local(view: View, request: Request, *args: Any, **kwargs: Any) -> Response:
            if recovering(app):
                return error(view, 503, RECOVERING)
            return await fun(view, request, *args, **kwargs)

        routed = app.table_route(table=table, match_info=match_info, query_param=query_param)(local)

        @wraps(fun)
        async def get(view: View, request: Request, *args: Any, **kwargs: Any) -> Response:
            key = request.match_info.get(name) if match_info else request.query.get(name)
            problem = _key_problem(name, key)
            if problem:
                return error(view, 400, problem)
            try:
                await _ensure_partition_metadata(table)
                return await routed(view, request, *args, **kwargs)
            except ServiceUnavailable:
                return error(view, 503, "partitions are being rebalanced: retry shortly")
            except (aiohttp.ClientError, OSError) as exc:
                logger.warning("could not reach the owner of %s: %r", request.path, exc)
                return error(view, 503, "the worker that owns this key is unreachable")

        return get

    return decorator


async def answer_from_owner(
    view: View,
    table: CollectionT,
    key: str,
    path: str,
    query: Mapping[str, str],
    local: Callable[[], Awaitable[Response]],
) -> Response:
    """``local()`` if this worker owns ``key``, else the owner's answer to ``GET path?query``."""
    try:
        await _ensure_partition_metadata(table)
        try:
            owner = app.router.key_store(table.name, key)
        except KeyError:
            raise ServiceUnavailable() from None
        url = owner.with_path(path).with_query(dict(query))
        try:
            return await app.router._route_req(url, view.web, _GetRequest(url))
        except SameNode:
            if recovering(app):
                return error(view, 503, RECOVERING)
            return await local()
    except ServiceUnavailable:
        return error(view, 503, "partitions are being rebalanced: retry shortly")
    except (aiohttp.ClientError, OSError) as exc:
        logger.warning("could not reach the owner of %s: %r", path, exc)
        return error(view, 503, "the worker that owns this key is unreachable")


class _GetRequest:
    """The parts of a request Faust's router forwards: a GET of ``url`` with no headers."""

    method = "GET"
    headers: Mapping[str, str] = {}

    def __init__(self, url: Any) -> None:
        self.url = url
