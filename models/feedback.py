"""Replaying history with labels that arrive late, as a worker would have seen them.

Offline training and evaluation walk transactions in time order. With
feedback, every fraud's label becomes known ``delay`` seconds after its
transaction, and from then on counts in its merchant's record
(:mod:`models.merchant_risk`), so that each transaction is observed with the
merchant record a live worker would have had at that moment.

>>> from models.transaction import Transaction
>>> feedback = LabelFeedback(delay=86_400.0)
>>> bad = Transaction("t1", "u1", 10.0, 1.7e9, merchant_id="m", label=1)
>>> feedback.view(bad), feedback.learn(bad, offset=0)
(MerchantView(transactions=0, frauds=0), None)
>>> feedback.view(Transaction("t2", "u2", 10.0, 1.7e9 + 90_000, merchant_id="m"))
MerchantView(transactions=1, frauds=1)
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping

from models.labels import Label
from models.merchant_risk import (
    MerchantState,
    MerchantView,
    count_transaction,
    merchant_view,
    record_label,
)
from models.transaction import Transaction


class LabelFeedback:
    """Merchants' records fed by fraud labels known ``delay`` seconds after each fraud.

    A fraud whose label gives when it became known (``known_at``) is known then instead.
    """

    def __init__(self, delay: float, known_at: Mapping[str, float] | None = None) -> None:
        self.delay = delay
        #: When each labelled fraud became known, where that is known (labels' ``known_at``).
        self.known_at = known_at or {}
        self.merchants: dict[str, MerchantState] = {}
        self._unknown: list[tuple[float, int, Transaction]] = []  # (known at, order, fraud)
        self._unknown_to_users: list[tuple[float, int, Transaction]] = []

    def view(self, tx: Transaction) -> MerchantView | None:
        """The record of ``tx``'s merchant as of ``tx``'s time (None without a merchant)."""
        if tx.merchant_id is None:
            return None
        unknown = self._unknown
        while unknown and unknown[0][0] <= tx.timestamp:
            known_at, _, fraud = heapq.heappop(unknown)
            record = self.merchants.get(fraud.merchant_id or "")
            if record is not None:
                label = Label(fraud.transaction_id, fraud.user_id, 1, known_at,
                              fraud.merchant_id, fraud.timestamp, "replay")  # fmt: skip
                record_label(record, label)
        return merchant_view(self.merchants.get(tx.merchant_id), tx.timestamp)

    def learn(self, tx: Transaction, offset: int) -> None:
        """Count ``tx`` in its merchant's record; if it is a fraud, its label comes later."""
        if tx.label == 1:
            known = self.known_at.get(tx.transaction_id, tx.timestamp + self.delay)
            heapq.heappush(self._unknown_to_users, (known, offset, tx))
            if tx.merchant_id is not None:
                heapq.heappush(self._unknown, (known, offset, tx))
        if tx.merchant_id is None:
            return
        merchant = tx.merchant_id
        self.merchants[merchant] = count_transaction(
            self.merchants.get(merchant), tx.timestamp, offset
        )

    def user_labels_due(self, until: float) -> list[Label]:
        """The fraud labels that became known by ``until`` and were not handed out yet.

        For the users' side (:mod:`models.user_labels`): each label is given once.
        """
        due = []
        unknown = self._unknown_to_users
        while unknown and unknown[0][0] <= until:
            known_at, _, fraud = heapq.heappop(unknown)
            due.append(Label(fraud.transaction_id, fraud.user_id, 1, known_at,
                             fraud.merchant_id, fraud.timestamp, "replay"))  # fmt: skip
        return due
