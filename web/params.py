"""Reading query parameters into typed filters, with messages for 4xx answers. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from app.database.queries import MAX_LIMIT, AnomalyFilter
from models.risk import RISK_LEVELS
from models.rules import REASON_CODES
from models.transaction import (
    MAX_MESSAGE_BYTES,
    MAX_TEXT_LENGTH,
    OPTIONAL_TEXT_FIELDS,
    InvalidTransaction,
    Transaction,
    parse_timestamp,
    validate_transaction,
)

KNOWN = frozenset({"user_id", "risk_level", "reason", "since", "until", "limit"})


def anomaly_filter(query: Mapping[str, str], default_limit: int = 100) -> AnomalyFilter:
    """An :class:`AnomalyFilter` from ``?user_id=&risk_level=&reason=&since=&until=&limit=``.

    Raises ValueError with a message fit for a 400 answer.
    """
    unknown = sorted(set(query) - KNOWN)
    if unknown:
        raise ValueError(f"unknown parameter(s): {', '.join(unknown)}")
    user_id = query.get("user_id") or None
    if user_id is not None and len(user_id) > MAX_TEXT_LENGTH:
        raise ValueError(f"user_id is longer than {MAX_TEXT_LENGTH} characters")
    level = (query.get("risk_level") or "").upper() or None
    if level is not None and level not in RISK_LEVELS:
        raise ValueError(f"risk_level must be one of {', '.join(RISK_LEVELS)}")
    reason = (query.get("reason") or "").upper() or None
    if reason is not None and reason not in REASON_CODES:
        raise ValueError(f"reason must be one of {', '.join(REASON_CODES)}")
    raw_limit = query.get("limit") or str(default_limit)
    try:
        limit = int(raw_limit)
    except ValueError:
        raise ValueError(f"limit must be a whole number, got {raw_limit[:32]!r}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    return AnomalyFilter(
        user_id=user_id,
        risk_level=level,
        reason=reason,
        since=_moment(query, "since"),
        until=_moment(query, "until"),
        limit=limit,
    )


def _moment(query: Mapping[str, str], name: str) -> datetime | None:
    raw = query.get(name)
    if not raw:
        return None
    try:
        return datetime.fromtimestamp(parse_timestamp(raw), UTC)
    except InvalidTransaction:
        raise ValueError(f"{name} must be ISO-8601 or epoch seconds, got {raw[:64]!r}") from None


#: What a score request may name: the contract's fields, all as text in a query.
SCORE_FIELDS: Final = frozenset(
    {"transaction_id", "user_id", "amount", "timestamp", *OPTIONAL_TEXT_FIELDS}
)
#: The id a score request's transaction gets when it names none.
REQUEST_TRANSACTION_ID: Final = "score-request"


def transaction_from_query(query: Mapping[str, str], now: float) -> Transaction:
    """The transaction described by ``?user_id=&amount=&timestamp=&...`` (text values).

    ``transaction_id`` is optional and ``timestamp`` defaults to ``now``.
    Raises ValueError with a message fit for a 400 answer.

    >>> transaction_from_query({"user_id": "u1", "amount": "12.5"}, now=1767225600.0).amount
    12.5
    >>> transaction_from_query({"user_id": "u1", "amount": "lots"}, now=1767225600.0)
    Traceback (most recent call last):
    ...
    ValueError: amount must be a number, got 'lots'
    """
    data: dict[str, Any] = dict(query)
    if "amount" in data:
        try:
            data["amount"] = float(data["amount"])
        except ValueError:
            raise ValueError(f"amount must be a number, got {data['amount'][:32]!r}") from None
    return _request_transaction(data, now)


def transaction_from_json(body: bytes, now: float) -> Transaction:
    """The transaction in a JSON request body, with the same defaults as the query form.

    Raises ValueError with a message fit for a 400 answer.
    """
    if len(body) > MAX_MESSAGE_BYTES:
        raise ValueError(f"body of {len(body)} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object with the transaction's fields")
    return _request_transaction(data, now)


def transaction_query(tx: Transaction) -> dict[str, str]:
    """``tx`` as the query of a ``GET /score`` (the inverse of :func:`transaction_from_query`)."""
    fields = tx.to_dict()
    query = {name: str(fields[name]) for name in SCORE_FIELDS if fields.get(name) is not None}
    query["amount"] = repr(tx.amount)
    query["timestamp"] = repr(tx.timestamp)
    return query


def _request_transaction(data: dict[str, Any], now: float) -> Transaction:
    unknown = sorted(set(data) - SCORE_FIELDS - {"label", "anomaly_kind"})
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(name[:32] for name in unknown[:5])}")
    data.setdefault("transaction_id", REQUEST_TRANSACTION_ID)
    data.setdefault("timestamp", now)
    try:
        return validate_transaction(data)
    except InvalidTransaction as exc:
        raise ValueError(f"{exc.reason}: {exc.detail}") from None
