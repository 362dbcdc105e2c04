"""Re-sending verdicts that a crash may have lost.

The agent writes a user's state to its tables (RocksDB, synchronously) and
sends the verdict to ``scores`` (asynchronously). A crash between the two
can leave a state that has learnt a transaction whose score never reached
Kafka; after the restart that transaction is replayed and skipped as
already learnt. So each verdict is also kept in the user's velocity state
for a short while, and a replayed transaction gets its verdict sent again,
the same one. Outputs are therefore at-least-once after a crash: consumers
deduplicate by transaction_id (the PostgreSQL sink does).

A verdict is kept until its offset is committed: past that point no replay
can reach it. It is kept as JSON text: the user's state is decoded for each
of their transactions, and a text decodes as one string where the verdict
would be dozens of objects, while it is read only to be re-sent.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from models.features import FEATURE_NAMES

#: Verdicts kept per user at most, should commits stall for long.
KEEP_AT_MOST: Final = 1024

#: The record fields that are the verdict (the rest are the transaction's own).
VERDICT_FIELDS: Final = (
    "risk_score",
    "risk_level",
    "recommendation",
    "reasons",
    "model_score",
    "model_percentile",
    "model_version",
    "is_alert",
    "detected_at",
    "features",
    "evidence",
    "signals",
    "source",
    "explanation",
)


def remember(
    state: dict[str, Any], offset: int, record: dict[str, Any], committed: int | None
) -> None:
    """Keep ``record``'s verdict in ``state`` (a fresh velocity dict).

    Verdicts of offsets below ``committed`` (the partition's committed offset,
    if known) are dropped: they can no longer be replayed.
    """
    kept = state.get("verdicts")
    if kept:
        floor = committed if committed is not None else -1
        kept = {key: verdict for key, verdict in kept.items() if int(key) >= floor}
    else:
        kept = {}
    verdict = {k: record[k] for k in VERDICT_FIELDS if k in record}
    if "features" in verdict:  # values only, in FEATURE_NAMES order: half the bytes
        verdict["features"] = list(verdict["features"].values())
    kept[str(offset)] = orjson.dumps(verdict).decode()
    if len(kept) > KEEP_AT_MOST:
        kept = dict(sorted(kept.items(), key=lambda item: int(item[0]))[-KEEP_AT_MOST:])
    state["verdicts"] = kept


def recall(state: dict[str, Any] | None, offset: int) -> dict[str, Any] | None:
    """The verdict kept for ``offset``, if it is still kept."""
    if state is None:
        return None
    kept = (state.get("verdicts") or {}).get(str(offset))
    return None if kept is None else _decoded(kept)


def kept_verdicts(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every verdict kept in ``state``, by offset (as text), as :func:`recall` gives it
    (for views: the features by name)."""
    return {offset: _decoded(kept) for offset, kept in (state.get("verdicts") or {}).items()}


def _decoded(kept: str | dict[str, Any]) -> dict[str, Any]:
    # States written before verdicts were kept as text hold them as objects.
    verdict = orjson.loads(kept) if isinstance(kept, str) else kept
    if isinstance(verdict.get("features"), list):
        features = dict(zip(FEATURE_NAMES, verdict["features"], strict=True))
        verdict = {**verdict, "features": features}
    return verdict
