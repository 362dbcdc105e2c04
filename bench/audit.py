"""What a chaos run checks at the end: nothing lost, nothing doubled, every user exact.

Pure functions over what was produced, what the ``scores`` topic holds,
what PostgreSQL stored and what the workers say of each user; the chaos
run (:mod:`bench.chaos`) gathers those and prints :meth:`Audit.lines`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: The parts of a score message that make its verdict (not when it was made).
VERDICT_FIELDS = ("risk_score", "risk_level", "is_alert", "reasons")


def verdict_of(score: Mapping[str, Any]) -> tuple[Any, ...]:
    """The verdict a ``scores`` message carries, comparable between repeats.

    >>> verdict_of({"risk_score": 80, "risk_level": "HIGH", "is_alert": True,
    ...             "reasons": ["NEW_DEVICE"], "detected_at": "2026-12-03T10:00:00Z"})
    (80, 'HIGH', True, ('NEW_DEVICE',))
    """
    return tuple(
        tuple(score.get(name) or ()) if name == "reasons" else score.get(name)
        for name in VERDICT_FIELDS
    )


@dataclass
class Audit:
    """The end-of-run figures; :meth:`failures` says which of them are wrong."""

    produced: int
    scored: int
    missing: int
    repeated: int
    repeats_differing: int
    alerted: int
    stored: int
    stored_duplicates: int
    alerts_not_stored: int
    stored_not_alerted: int
    users: int
    users_wrong: int
    examples: dict[str, list[Any]] = field(default_factory=dict)

    def failures(self) -> list[str]:
        """Every way the run lost, doubled or miscounted something (empty: none)."""
        checks = {
            "transactions never scored": self.missing,
            "repeated scores whose verdict differs": self.repeats_differing,
            "alerted transactions not in PostgreSQL": self.alerts_not_stored,
            "rows in PostgreSQL for no alert": self.stored_not_alerted,
            "duplicate rows in PostgreSQL": self.stored_duplicates,
            "users whose profile count is not exact": self.users_wrong,
        }
        return [f"{n:,} {what}" for what, n in checks.items() if n]

    def lines(self) -> list[str]:
        """The figures, one per line, for the report."""
        return [
            f"transactions produced        {self.produced:,}",
            f"distinct transactions scored {self.scored:,} ({self.missing:,} missing)",
            f"repeated score messages      {self.repeated:,} "
            f"({self.repeats_differing:,} with a different verdict)",
            f"alerted transactions         {self.alerted:,}",
            f"alerts in PostgreSQL         {self.stored:,} "
            f"({self.alerts_not_stored:,} missing, {self.stored_not_alerted:,} unexpected, "
            f"{self.stored_duplicates:,} duplicates)",
            f"users checked                {self.users:,} ({self.users_wrong:,} not exact)",
        ]


def audit(
    produced: Mapping[str, str],
    scores: Mapping[str, list[tuple[Any, ...]]],
    stored: Iterable[str],
    counts: Mapping[str, int | None],
) -> Audit:
    """Check a run.

    ``produced`` maps each transaction id to its user; ``scores`` each
    scored transaction id to the verdicts of its score messages, in the
    order read; ``stored`` lists the transaction id of every alert row in
    PostgreSQL; ``counts`` each user to the profile count a worker holds
    (None: the worker had no state for them).

    >>> result = audit(
    ...     {"t1": "u1", "t2": "u1", "t3": "u2"},
    ...     {"t1": [(10, "LOW", False, ())], "t2": [(90, "HIGH", True, ())] * 2},
    ...     ["t2"],
    ...     {"u1": 2, "u2": None},
    ... )
    >>> result.failures()
    ['1 transactions never scored', '1 users whose profile count is not exact']
    >>> (result.repeated, result.alerted, result.stored)
    (1, 1, 1)
    """
    missing = [tx for tx in produced if tx not in scores]
    repeated = sum(len(verdicts) - 1 for verdicts in scores.values())
    differing = [tx for tx, verdicts in scores.items() if len(set(verdicts)) > 1]
    alerted = {tx for tx, verdicts in scores.items() if any(v[2] for v in verdicts)}
    rows = Counter(stored)
    expected = Counter(produced.values())
    wrong = {user: (n, counts.get(user)) for user, n in expected.items() if counts.get(user) != n}
    return Audit(
        produced=len(produced),
        scored=sum(1 for tx in scores if tx in produced),
        missing=len(missing),
        repeated=repeated,
        repeats_differing=len(differing),
        alerted=len(alerted),
        stored=len(rows),
        stored_duplicates=sum(n - 1 for n in rows.values()),
        alerts_not_stored=len(alerted - rows.keys()),
        stored_not_alerted=len(rows.keys() - alerted),
        users=len(expected),
        users_wrong=len(wrong),
        examples={
            "missing": missing[:5],
            "differing": differing[:5],
            "users (expected, held)": list(wrong.items())[:5],
        },
    )
