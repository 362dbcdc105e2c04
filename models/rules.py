"""Rules: named, explainable checks with configurable thresholds, each declared once.

A rule (:class:`Rule`) is one entry of :data:`RULES`: its reason code, what
it means, when it fires, the thresholds it reads with their defaults (each
settable as ``TXWATCH_RULE_<NAME>``), and, for the rules that carry
evidence in the risk score, the share of traffic it fires on when training
measured none (:mod:`models.signals`). Adding a rule is adding an entry
here and a row to the table in ``tests/unit/test_rules.py``, which checks
that every rule has one that fires it.

Rules about a user's habits wait until the user has enough history
(``min_history``), so a newcomer's first purchases are not all "new location".

>>> [rule.code for rule in RULES if rule.default_rate is not None]
['VELOCITY_BURST', 'VELOCITY_MULTI_LOCATION', 'CARD_TESTING']
>>> RuleThresholds(high_amount=100.0)["high_amount"], RuleThresholds()["min_history"]
(100.0, 5)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Final

from models.features import Observation
from models.velocity import SMALL_AMOUNT

#: A rule's name in alerts, explanations and ``GET /anomalies?reason=``.
ReasonCode = str
Thresholds = Mapping[str, float]


@dataclass(frozen=True)
class Rule:
    """One rule, declared once."""

    code: ReasonCode
    meaning: str
    #: Whether the rule fires on an observation, given every threshold by name.
    fires: Callable[[Observation, Thresholds], bool]
    #: The thresholds the rule reads, with their defaults (an int default takes ints).
    thresholds: Mapping[str, float] = field(default_factory=dict)
    #: Reads the user's habits, so waits for ``min_history`` transactions.
    habit: bool = False
    #: Carries evidence in the risk score: the share of traffic it fires on when training
    #: measured none. None: it explains an alert and weighs nothing.
    default_rate: float | None = None


def _known(obs: Observation, t: Thresholds) -> bool:
    return obs.history >= t["min_history"]


def _never_used(code: ReasonCode, what: str, seen: str) -> Rule:
    """A rule that fires on a value the user never used (0 times; None: not given)."""
    times = attrgetter(seen)
    return Rule(code, f"a {what} the user never used", lambda o, t: times(o) == 0, habit=True)


#: Thresholds every habit rule shares.
SHARED_THRESHOLDS: Final[Mapping[str, float]] = {"min_history": 5}

RULES: Final[tuple[Rule, ...]] = (
    Rule(
        "HIGH_AMOUNT",
        "an amount above a fixed limit, or many times the user's typical amount",
        lambda o, t: (
            o.amount >= t["high_amount"]
            or (_known(o, t) and o.amount >= t["high_amount_multiple"] * o.typical_amount)
        ),
        {"high_amount": 5000.0, "high_amount_multiple": 10.0},
    ),
    Rule(
        "AMOUNT_ZSCORE",
        "an amount far above the user's usual log amount",
        lambda o, t: o.amount_zscore >= t["amount_zscore"],
        {"amount_zscore": 3.5},
        habit=True,
    ),
    _never_used("NEW_LOCATION", "place", "location_seen"),
    _never_used("NEW_MERCHANT_CATEGORY", "merchant category", "merchant_category_seen"),
    _never_used("NEW_PAYMENT_METHOD", "payment method", "payment_method_seen"),
    _never_used("NEW_DEVICE", "device", "device_seen"),
    Rule(
        "UNUSUAL_HOUR",
        "no earlier transaction of the user within an hour of this time of day",
        lambda o, t: o.hour_seen == 0,
        habit=True,
    ),
    Rule(
        "VELOCITY_BURST",
        "many transactions in a minute or ten (this one counted)",
        lambda o, t: (
            o.windows.count_1m + 1 >= t["burst_count_1m"]
            or o.windows.count_10m + 1 >= t["burst_count_10m"]
        ),
        {"burst_count_1m": 3, "burst_count_10m": 6},
        default_rate=0.005,
    ),
    Rule(
        "VELOCITY_MULTI_LOCATION",
        "places new to the user in ten minutes or an hour (their usual places count as one)",
        lambda o, t: (
            o.new_places_10m >= t["multi_location_10m"] or o.new_places_1h >= t["multi_location_1h"]
        ),
        {"multi_location_10m": 2, "multi_location_1h": 3},
        default_rate=0.005,
    ),
    Rule(
        "CARD_TESTING",
        f"several small amounts (at most {SMALL_AMOUNT:g}) in ten minutes",
        lambda o, t: (
            o.windows.small_10m + (o.amount <= SMALL_AMOUNT) >= t["card_testing_small_10m"]
        ),
        {"card_testing_small_10m": 3},
        default_rate=0.003,
    ),
)

#: Every reason code, in the order alerts list them.
REASON_CODES: Final[tuple[ReasonCode, ...]] = tuple(rule.code for rule in RULES)
#: Every threshold's default, by name.
DEFAULT_THRESHOLDS: Final[Mapping[str, float]] = {
    **SHARED_THRESHOLDS,
    **{name: value for rule in RULES for name, value in rule.thresholds.items()},
}


class RuleThresholds(Mapping[str, float]):
    """When each rule fires: the defaults of :data:`RULES`, some overridden by name."""

    def __init__(self, **overrides: float) -> None:
        unknown = sorted(set(overrides) - set(DEFAULT_THRESHOLDS))
        if unknown:
            raise TypeError(f"no rule reads the threshold(s) {', '.join(unknown)}")
        self._values: dict[str, float] = {**DEFAULT_THRESHOLDS, **overrides}

    def __getitem__(self, name: str) -> float:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"RuleThresholds({self._values!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RuleThresholds:
        """Thresholds with ``TXWATCH_RULE_<NAME>`` overrides; ValueError names a bad one."""
        values: dict[str, float] = {}
        for name, default in DEFAULT_THRESHOLDS.items():
            raw = env.get(f"TXWATCH_RULE_{name.upper()}")
            if raw is None or raw == "":
                continue
            kind = int if isinstance(default, int) else float
            try:
                values[name] = kind(raw)
            except ValueError:
                raise ValueError(
                    f"TXWATCH_RULE_{name.upper()}={raw!r} is not a {kind.__name__}"
                ) from None
        return cls(**values)


def evaluate_rules(obs: Observation, thresholds: Thresholds) -> list[ReasonCode]:
    """The reason codes of every rule ``obs`` triggers, in :data:`REASON_CODES` order."""
    # A plain dict's lookups: this runs for every transaction.
    values = thresholds._values if isinstance(thresholds, RuleThresholds) else thresholds
    known_user = obs.history >= values["min_history"]
    return [
        rule.code for rule in RULES if (known_user or not rule.habit) and rule.fires(obs, values)
    ]
