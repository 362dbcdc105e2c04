"""From an ``alerts`` message to an ``anomalies`` row. Pure: no database here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

import orjson
from psycopg.types.json import Jsonb

from models.transaction import parse_timestamp

#: The columns the sink writes, in row order.
COLUMNS: Final = (
    "transaction_id",
    "user_id",
    "amount",
    "timestamp",
    "location",
    "merchant_category",
    "payment_method",
    "anomaly_score",
    "is_anomaly",
    "detection_time",
    "risk_score",
    "risk_level",
    "reasons",
    "recommendation",
    "model_version",
    "device_id",
    "merchant_id",
    "currency",
    "raw",
)


class InvalidAlert(ValueError):
    """An ``alerts`` message that cannot become a row (it should not happen: txwatch wrote it)."""


def alert_row(value: bytes) -> tuple[Any, ...]:
    """The ``anomalies`` row for one ``alerts`` message, in :data:`COLUMNS` order."""
    try:
        alert = orjson.loads(value)
        return (
            str(alert["transaction_id"]),
            str(alert["user_id"]),
            float(alert["amount"]),
            _moment(alert["timestamp"]),
            alert.get("location"),
            alert.get("merchant_category"),
            alert.get("payment_method"),
            alert.get("model_score"),
            True,
            _moment(alert["detected_at"]),
            float(alert["risk_score"]),
            str(alert["risk_level"]),
            [str(reason) for reason in alert.get("reasons") or ()],
            str(alert["recommendation"]),
            alert.get("model_version"),
            alert.get("device_id"),
            alert.get("merchant_id"),
            alert.get("currency"),
            Jsonb(alert),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidAlert(f"{type(exc).__name__}: {exc}") from None


def _moment(value: Any) -> datetime:
    return datetime.fromtimestamp(parse_timestamp(value), UTC)
