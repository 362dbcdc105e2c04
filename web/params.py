"""Reading query parameters into typed filters, with messages for 4xx answers. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from app.database.queries import MAX_LIMIT, AnomalyFilter
from models.risk import RISK_LEVELS
from models.rules import REASON_CODES
from models.transaction import MAX_TEXT_LENGTH, InvalidTransaction, parse_timestamp

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
