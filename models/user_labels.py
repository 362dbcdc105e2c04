"""What a label does to its user's state: a card with confirmed fraud stays suspect.

A confirmed fraud on a card says more about the card's next transactions
than anything else: the Fraud Detection Handbook's compromised cards keep
paying fraudsters for two weeks, and a stolen card number is used again. So
a fraud label is recorded in the user's profile (``frauds``: transaction id
-> the fraud's event time) and, for :data:`CARD_WINDOW_DAYS` after that
time, the user's transactions carry the ``card_compromised`` signal
(:mod:`models.signals`). A ``genuine`` label for the same transaction takes
the fraud back. Either label also settles the transaction if it is held out
of the habits (:mod:`models.holding`): genuine is learnt, fraud dropped.

Applying a label twice changes nothing the second time, so a replayed
label topic is harmless.

>>> from models.holding import HoldPolicy, learn_or_hold
>>> from models.transaction import Transaction
>>> p = learn_or_hold(None, Transaction("t1", "u", 10.0, 1.7e9), 0, HoldPolicy())
>>> apply_user_label(p, Label("t1", "u", 1, 1.7e9 + 86_400, timestamp=1.7e9))
True
>>> apply_user_label(p, Label("t1", "u", 1, 1.7e9 + 86_400, timestamp=1.7e9))
False
>>> card_frauds(p, at=1.7e9 + 3 * 86_400), card_frauds(p, at=1.7e9 + 15 * 86_400)
(1, 0)
>>> apply_user_label(p, Label("t1", "u", 0, 1.7e9 + 90_000)), card_frauds(p, at=1.7e9 + 3600)
(True, 0)
"""

from __future__ import annotations

from typing import Final

from models.holding import settle
from models.labels import Label
from models.profile import Profile

#: Days after a confirmed fraud during which the card's transactions stay suspect: a
#: compromised card in the handbook's method is used by fraudsters for 14 days.
CARD_WINDOW_DAYS: Final = 14
#: Confirmed frauds kept per user; the oldest by event time are forgotten first.
MAX_FRAUDS: Final = 8
_WINDOW_SECONDS: Final = CARD_WINDOW_DAYS * 86_400.0


def apply_user_label(profile: Profile, label: Label) -> bool:
    """Record ``label`` in its user's ``profile`` (in place); True if the profile changed.

    A fraud is timed by the transaction's event time when the label gives it,
    else by when it became known.
    """
    fraud = label.label == 1
    changed = settle(profile, label.transaction_id, fraud)
    frauds: dict[str, float] = profile.setdefault("frauds", {})
    if fraud:
        when = label.timestamp if label.timestamp is not None else label.known_at
        if frauds.get(label.transaction_id) != when:
            frauds[label.transaction_id] = when
            changed = True
            if len(frauds) > MAX_FRAUDS:
                oldest = min(frauds.items(), key=lambda item: (item[1], item[0]))[0]
                del frauds[oldest]
    elif frauds.pop(label.transaction_id, None) is not None:
        changed = True
    if not frauds:
        del profile["frauds"]
    return changed


def card_frauds(profile: Profile | None, at: float) -> int:
    """Confirmed frauds on the user's card within :data:`CARD_WINDOW_DAYS` before ``at``."""
    frauds = profile.get("frauds") if profile is not None else None
    if not frauds:
        return 0
    return sum(1 for when in frauds.values() if 0 <= at - when <= _WINDOW_SECONDS)
