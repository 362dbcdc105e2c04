"""Evidence: how surprising a transaction is, in nats, one signal at a time.

Each signal says how rare what it sees is, as ``-log(share)``: a thing that
happens once in a hundred transactions is worth 4.6 nats. The risk score adds
them up (:mod:`models.risk`), so evidence that is rarer counts for more and
independent signals add, whatever the data. Signals are one-sided where
fraud is: an amount far *above* the user's and the population's usual ranks
high, a small one adds nothing (card testing is a pattern of its own).

What a share is measured against:

- the user's own history: the amount's z-score on the user's log amounts, and
  Good-Turing's estimate of the chance that the user shows a value new to
  them (:func:`models.features.new_value_count`). A user who tried a new
  shop in half their purchases is not surprising when they try another; one
  with fifty purchases in three shops is;
- the population, as training saw it (:class:`Population`): how rare the
  amount is among all amounts, how rare a value new to the user is among all
  users (for fields of few values: countries, categories, payment methods),
  how rare the hour is, how often each velocity rule fired.

Without a trained population only the user-relative signals and the rules'
default rates count.

>>> from models.features import observe
>>> from models.history import walk
>>> from models.transaction import Transaction
>>> def day(i, amount, shop):  # a purchase at the same time of day, day after day
...     return Transaction(f"t{i}", "u", amount, 1.7e9 + i * 86400, merchant_id=shop)
>>> usual = [day(i, 20.0, "m1") for i in range(30)]
>>> *_, (tx, profile, velocity) = walk([*usual, day(30, 400.0, "m9")])
>>> nats = signal_nats(evidence_inputs(observe(tx, profile, velocity), []), Population())
>>> sorted(name for name, value in nats.items() if value > 1)
['amount_above_usual', 'new_merchant']
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from models.features import Observation
from models.merchant_risk import DEFAULT_FRAUD_RATE, MerchantView, merchant_nats
from models.profile import HOURS
from models.rules import RULES, ReasonCode

#: Rarest share any signal credits: no single signal outweighs all others.
MIN_SHARE: Final = 1e-4
#: How much the population's view of an amount counts beside the user's own.
POPULATION_AMOUNT_WEIGHT: Final = 0.5
#: Fields whose values are few enough for a population table (countries, categories, methods).
MAX_TABLE_VALUES: Final = 256

#: Signals on values new to the user: signal name -> (profile key, transaction attribute).
NOVELTY_SIGNALS: Final = {
    "new_location": ("locations", "location"),
    "new_merchant_category": ("merchant_categories", "merchant_category"),
    "new_payment_method": ("payment_methods", "payment_method"),
    "new_device": ("devices", "device_id"),
    "new_merchant": ("merchants", "merchant_id"),
}
_SIGNAL_OF_KEY: Final = {key: (name, attr) for name, (key, attr) in NOVELTY_SIGNALS.items()}
#: The rules that carry evidence and the share of traffic each fires on when training
#: measured none (declared with the rule, models.rules).
RULE_SIGNALS: Final[dict[ReasonCode, float]] = {
    rule.code: rule.default_rate for rule in RULES if rule.default_rate is not None
}
#: Every signal, in the order explanations list them on ties.
SIGNAL_NAMES: Final = (
    "amount_above_usual",
    "amount_above_population",
    *NOVELTY_SIGNALS,
    "unusual_hour",
    *RULE_SIGNALS,
    "merchant_fraud",
    "card_compromised",
)
#: Shares of traffic on cards with at least 1, 2, 3 confirmed frauds, when training
#: measured none. More than :data:`MAX_CARD_FRAUDS` count as that many.
DEFAULT_CARD_RATES: Final = (0.005, 0.001, 0.0003)
MAX_CARD_FRAUDS: Final = len(DEFAULT_CARD_RATES)


@dataclass(slots=True)
class EvidenceInputs:
    """What the signals need from one observation: compact, so training can keep millions."""

    amount: float
    #: The user's amount z-score times the confidence in their habits, 0 if below usual.
    amount_z: float
    #: signal -> (the value new to the user, Good-Turing's share of new values for them).
    novel: dict[str, tuple[str, float]]
    hour: int
    #: Good-Turing's share for a new hour, or None when the hour is usual for the user.
    hour_novelty: float | None
    rules: tuple[ReasonCode, ...]
    merchant: MerchantView | None = None
    #: Confirmed frauds on the user's card in the last days (models.user_labels).
    card_frauds: int = 0


def evidence_inputs(obs: Observation, reasons: Sequence[ReasonCode]) -> EvidenceInputs:
    """The inputs of every signal for ``obs``, whose rules fired ``reasons``."""
    history = obs.history
    novel: dict[str, tuple[str, float]] = {}
    hour_novelty = None
    # Only the fields whose value is new to the user are there (none for a newcomer).
    for key, count in obs.new_value_counts.items():
        if key == HOURS:
            hour_novelty = _novelty(count, history)
        else:
            name, attribute = _SIGNAL_OF_KEY[key]
            novel[name] = (getattr(obs.tx, attribute), _novelty(count, history))
    return EvidenceInputs(
        amount=obs.amount,
        amount_z=max(0.0, obs.amount_zscore) * obs.confidence,
        novel=novel,
        hour=obs.hour,
        hour_novelty=hour_novelty,
        rules=tuple(r for r in reasons if r in RULE_SIGNALS) if reasons else (),
        merchant=obs.merchant,
        card_frauds=obs.card_frauds,
    )


def _novelty(new_values: int, history: int) -> float:
    """The chance of a value new to the user: (new-value count + 1) / (history + 2)."""
    return (new_values + 1) / (history + 2)


@dataclass(frozen=True)
class Population:
    """What training measured on the traffic as a whole; empty: none measured."""

    #: Training amounts' quantiles, evenly spaced from 0 to 1.
    amount_quantiles: tuple[float, ...] = ()
    #: Share of training transactions in each UTC hour.
    hour_shares: tuple[float, ...] = ()
    #: signal -> value -> share of training transactions (fields of few values only).
    value_shares: dict[str, dict[str, float]] = field(default_factory=dict)
    #: Velocity rule -> share of training transactions it fired on.
    rule_rates: dict[str, float] = field(default_factory=dict)
    #: Share of fraud among training's labelled transactions, if any were labelled.
    fraud_rate: float | None = None
    #: Shares of training transactions on cards with at least 1, 2, 3 confirmed frauds,
    #: if labels reached users' state in training.
    card_rates: tuple[float, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (for the model file's header)."""
        return {
            "amount_quantiles": list(self.amount_quantiles),
            "hour_shares": list(self.hour_shares),
            "value_shares": self.value_shares,
            "rule_rates": self.rule_rates,
            "fraud_rate": self.fraud_rate,
            "card_rates": list(self.card_rates),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Population:
        """The population :meth:`to_json` wrote; ValueError if it is malformed."""
        try:
            quantiles = tuple(float(q) for q in data["amount_quantiles"])
            hours = tuple(float(h) for h in data["hour_shares"])
            values = {
                str(s): {str(v): float(x) for v, x in table.items()}
                for s, table in data["value_shares"].items()
            }
            rates = {str(r): float(x) for r, x in data["rule_rates"].items()}
            raw_rate = data.get("fraud_rate")
            fraud_rate = None if raw_rate is None else float(raw_rate)
            card_rates = tuple(float(x) for x in data.get("card_rates", ()))  # newer key
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"population statistics are malformed: {exc!r}") from None
        if hours and len(hours) != 24:
            raise ValueError(f"population statistics: {len(hours)} hour shares, need 24")
        if any(b < a for a, b in itertools.pairwise(quantiles)):
            raise ValueError("population statistics: amount quantiles are not ascending")
        if fraud_rate is not None and not 0 < fraud_rate < 1:
            raise ValueError(f"population statistics: fraud rate {fraud_rate} is not a share")
        if card_rates and (
            len(card_rates) != MAX_CARD_FRAUDS or not all(0 < x <= 1 for x in card_rates)
        ):
            raise ValueError(f"population statistics: card rates {card_rates} are not shares")
        return cls(quantiles, hours, values, rates, fraud_rate, card_rates)


def fit_population(
    rows: Sequence[EvidenceInputs],
    points: int = 1001,
    fraud_rate: float | None = None,
    labels_fed: bool = False,
) -> Population:
    """The population statistics of ``rows`` (a training set's evidence inputs).

    ``fraud_rate``: the share of fraud among the labelled rows, if any were;
    ``labels_fed``: whether labels reached users' state as the rows were
    made, so that the share of rows on cards with confirmed fraud means something.
    """
    n = len(rows)
    if n == 0:
        return Population()
    quantiles = _quantiles([row.amount for row in rows], points)
    hours = [0] * 24
    for row in rows:
        hours[row.hour] += 1
    counts: dict[str, dict[str, int]] = {name: {} for name in NOVELTY_SIGNALS}
    fired = dict.fromkeys(RULE_SIGNALS, 0)
    suspect_cards = [0] * MAX_CARD_FRAUDS  # rows on cards with at least 1, 2, ... frauds
    for row in rows:
        for k in range(min(row.card_frauds, MAX_CARD_FRAUDS)):
            suspect_cards[k] += 1
        for name, (value, _) in row.novel.items():
            table = counts[name]
            table[value] = table.get(value, 0) + 1
        for rule in row.rules:
            fired[rule] += 1
    # Shares among values that were new to their user: what "a new place" usually looks like.
    value_shares = {
        name: {v: c / sum(table.values()) for v, c in table.items()}
        for name, table in counts.items()
        if 0 < len(table) <= MAX_TABLE_VALUES
    }
    return Population(
        amount_quantiles=quantiles,
        hour_shares=tuple(h / n for h in hours),
        value_shares=value_shares,
        rule_rates={rule: count / n for rule, count in fired.items()},
        fraud_rate=fraud_rate if fraud_rate and 0 < fraud_rate < 1 else None,
        # Smoothed, so that no row on such a card reads as "rare", not "impossible".
        card_rates=tuple((c + 1) / (n + 2) for c in suspect_cards) if labels_fed else (),
    )


def _quantiles(values: list[float], points: int) -> tuple[float, ...]:
    ordered = sorted(values)
    n = len(ordered)
    return tuple(ordered[round(i * (n - 1) / (points - 1))] for i in range(points))


def signal_nats(inputs: EvidenceInputs, population: Population) -> dict[str, float]:
    """The evidence in nats of each signal that sees something unusual, by signal name."""
    nats: dict[str, float] = {}
    if inputs.amount_z > 0:
        # Two-sided normal tail of z, so that z = 0 is 0 nats: erfc(z / sqrt 2).
        nats["amount_above_usual"] = -math.log(
            max(math.erfc(inputs.amount_z / math.sqrt(2)), 1e-300)
        )
    quantiles = population.amount_quantiles
    if quantiles and inputs.amount > quantiles[0]:
        share = _tail_share(quantiles, inputs.amount)
        if share < 1.0:
            nats["amount_above_population"] = POPULATION_AMOUNT_WEIGHT * -math.log(share)
    for name, (value, novelty) in inputs.novel.items():
        evidence = -math.log(novelty)
        table = population.value_shares.get(name)
        if table:
            # A value new to the user that is also rare among new values counts more.
            evidence += -math.log(_clip(table.get(value, 0.0) * len(table)))
        nats[name] = evidence
    if inputs.hour_novelty is not None:
        evidence = -math.log(inputs.hour_novelty)
        shares = population.hour_shares
        if shares:
            h = inputs.hour
            window = shares[h - 1] + shares[h] + shares[(h + 1) % 24]
            evidence += -math.log(_clip(window * 8))  # 3 hours of 24: an average window is 1
        nats["unusual_hour"] = evidence
    for rule in inputs.rules:
        nats[rule] = -math.log(_clip(population.rule_rates.get(rule, RULE_SIGNALS[rule])))
    if inputs.merchant is not None and inputs.merchant.frauds:
        rate = population.fraud_rate or DEFAULT_FRAUD_RATE
        nats["merchant_fraud"] = merchant_nats(inputs.merchant, rate)
    if inputs.card_frauds:
        rates = population.card_rates or DEFAULT_CARD_RATES
        share = rates[min(inputs.card_frauds, MAX_CARD_FRAUDS) - 1]
        nats["card_compromised"] = -math.log(_clip(share))
    return nats


def _tail_share(quantiles: tuple[float, ...], amount: float) -> float:
    """Share of training amounts at or above ``amount``; beyond the largest, it keeps falling."""
    top = quantiles[-1]
    floor = 1.0 / (len(quantiles) - 1)
    if amount > top:
        # Beyond what training saw, a Pareto tail: ten times the largest is ten times rarer.
        return _clip(floor * top / amount) if top > 0 else MIN_SHARE
    below = bisect.bisect_left(quantiles, amount)
    return max(floor, 1.0 - below / (len(quantiles) - 1))


def _clip(share: float) -> float:
    return min(1.0, max(MIN_SHARE, share))
