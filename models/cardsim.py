"""Payment-card transactions simulated by the Fraud Detection Handbook's method.

The generation method of the handbook's "Transaction data simulator" chapter
(Le Borgne et al., *Reproducible Machine Learning for Credit Card Fraud
Detection - Practical Handbook*), written anew without pandas or numpy:

- customers on a 100x100 grid, each with a mean amount drawn uniformly in
  5..100 (standard deviation half of it) and a mean number of transactions a
  day drawn uniformly in 0..4; terminals on the same grid; a customer uses the
  terminals closer than ``radius``;
- every day a customer makes Poisson(rate) attempts; each has a time of day in
  whole seconds drawn normal(43200, 20000) and is dropped unless strictly
  inside the day, an amount normal(mean, mean/2) redrawn uniform(0, 2*mean)
  when negative and rounded to cents (so a few are 0.0), and a terminal drawn
  uniformly from the customer's; a customer with no terminal makes none;
- fraud: (1) ``high_amount_220``, every amount above 220; (2)
  ``compromised_terminal``, every day 2 terminals are drawn and every
  transaction on them that day and the next 27 is fraud; (3)
  ``compromised_card``, every day 3 customers are drawn and a third (rounded
  down) of their pooled transactions of that day and the next 13 get their
  amount multiplied by 5 and are fraud. A later scenario overwrites an earlier
  one's kind, as in the handbook.

Measured on the defaults (the handbook's sizes; its own figures in brackets):
1,795,796 transactions [1,754,155], 9,813 a day ["around 10000"], 75.7
terminals a customer ["around 100"; pi*5^2 = 78.5 less the grid's edges];
fraud 0.831% [0.837%]: ``high_amount_220`` 0.060% [0.055%],
``compromised_terminal`` 0.512% [0.517%], ``compromised_card`` 0.258% [0.264%];
39 amounts of exactly 0.0 [not published]; 13 s on one core [70 s + 75 s].
Seeds 1 and 2 give 1,768,871 and 1,803,698 transactions, 0.839% and 0.846%
fraud: the count moves with the customers' drawn rates (2 a day on average,
of which 3.1% fall outside the day).

Amounts of 0.0 are kept, as in the handbook: the topic contract accepts them
(card verifications carry them).

Departures, where the handbook's code is an accident rather than the method:
its random streams are numpy's (here ``random.Random``, seeded from
``CardSimConfig.seed``), its fraud draws are the same for every seed, it
draws no compromised terminal or card on the last day, and its amounts x5 are
not rounded back to cents.

>>> txs = list(simulate_cards(CardSimConfig(customers=50, terminals=100, days=3, seed=1)))
>>> txs[0].transaction_id, all(a.timestamp <= b.timestamp for a, b in zip(txs, txs[1:]))
('hb-0', True)
>>> {tx.anomaly_kind for tx in txs if tx.label == 0}
{None}
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import NamedTuple

from models.transaction import MAX_EPOCH, MIN_EPOCH, Transaction

__all__ = ["SCENARIOS", "CardSimConfig", "simulate_cards"]

SCENARIOS: tuple[str, ...] = ("high_amount_220", "compromised_terminal", "compromised_card")
HIGH_AMOUNT = 220.0
TERMINALS_PER_DAY, TERMINAL_DAYS = 2, 28
CARDS_PER_DAY, CARD_DAYS, CARD_SHARE, CARD_FACTOR = 3, 14, 3, 5
GRID = 100.0
DAY_SECONDS = 86_400
TIME_MEAN, TIME_STD = DAY_SECONDS / 2, 20_000.0


@dataclass(frozen=True, slots=True)
class CardSimConfig:
    """What to simulate (the handbook's sizes by default); the same config gives the same stream."""

    customers: int = 5000
    terminals: int = 10000
    days: int = 183
    start: str = "2018-04-01"  # the first day, an ISO date; days start at midnight UTC
    radius: float = 5.0
    seed: int = 0

    def __post_init__(self) -> None:
        # Customer and day go into 32-bit fields of the per-customer-day seed.
        for name, top in (("customers", 2**32), ("terminals", 2**32), ("days", 2**32)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < top:
                raise ValueError(f"{name} must be an integer from 1 to {top - 1}, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")
        radius = self.radius
        if isinstance(radius, bool) or not isinstance(radius, int | float):
            raise ValueError(f"radius must be a number, got {radius!r}")
        if not 0 < radius < math.inf:  # also rejects NaN
            raise ValueError(f"radius must be finite and > 0, got {radius!r}")
        first = _start_epoch(self.start)
        if not MIN_EPOCH <= first <= MAX_EPOCH - self.days * DAY_SECONDS:
            raise ValueError(f"start and days must stay within 2000-2100, got {self.start!r}")


class _Customer(NamedTuple):
    mean: float
    std: float
    quiet: float  # exp(-rate): the chance of no transaction in a day
    terminals: tuple[int, ...]  # ascending ids of the terminals within the radius


def _start_epoch(start: object) -> float:
    if isinstance(start, str):
        try:
            return datetime.combine(date.fromisoformat(start), time(), UTC).timestamp()
        except ValueError:
            pass
    raise ValueError(f"start must be an ISO date such as '2018-04-01', got {start!r}")


def _tables(
    config: CardSimConfig,
) -> tuple[list[tuple[float, float, float, float]], list[tuple[float, float]]]:
    """The drawn customers (x, y, mean amount, transactions a day) and terminals (x, y)."""
    rng = random.Random(f"{config.seed}:customers")
    customers = [
        (rng.uniform(0, GRID), rng.uniform(0, GRID), rng.uniform(5, 100), rng.uniform(0, 4))
        for _ in range(config.customers)
    ]
    rng = random.Random(f"{config.seed}:terminals")
    terminals = [(rng.uniform(0, GRID), rng.uniform(0, GRID)) for _ in range(config.terminals)]
    return customers, terminals


def _customers(config: CardSimConfig) -> list[_Customer]:
    """The customer table, each customer's terminals found once through a grid of cells."""
    drawn, places = _tables(config)
    r = float(config.radius)
    cell = max(r, GRID / 1000)  # not finer than 1000x1000 cells, for a tiny radius
    cells: dict[tuple[int, int], list[int]] = {}
    for terminal, (x, y) in enumerate(places):
        cells.setdefault((math.floor(x / cell), math.floor(y / cell)), []).append(terminal)
    table = []
    for x, y, mean, rate in drawn:
        # Rounding is monotone, so the cells of x-r..x+r hold every terminal less than r away.
        found = [
            terminal
            for i in range(math.floor((x - r) / cell), math.floor((x + r) / cell) + 1)
            for j in range(math.floor((y - r) / cell), math.floor((y + r) / cell) + 1)
            for terminal in cells.get((i, j), ())
            if math.sqrt((places[terminal][0] - x) ** 2 + (places[terminal][1] - y) ** 2) < r
        ]
        table.append(_Customer(mean, mean / 2, math.exp(-rate), tuple(sorted(found))))
    return table


def _day_key(seed: int, customer: int, day: int) -> int:
    zigzag = 2 * seed if seed >= 0 else -2 * seed - 1  # a distinct natural number per seed
    return (zigzag << 64) | (customer << 32) | day


def _customer_day(
    rng: random.Random, seed: int, index: int, customer: _Customer, day: int
) -> list[tuple[int, int, float]]:
    """(second of the day, terminal, amount) of one customer's genuine transactions of a day.

    Each customer-day has its own seed, so a day can be generated ahead of time,
    which the compromised-card draw needs, and again later with the same result.
    """
    mean, std, quiet, terminals = customer
    if not terminals:
        return []
    rng.seed(_day_key(seed, index, day))
    attempts, p = 0, rng.random()
    while p > quiet:  # Knuth's Poisson sampler: the rate is at most 4
        attempts += 1
        p *= rng.random()
    out = []
    for _ in range(attempts):
        second = int(rng.gauss(TIME_MEAN, TIME_STD))  # truncated, as the handbook's int()
        if not 0 < second < DAY_SECONDS:
            continue  # dropped, not redrawn: the handbook's days are ~3% short of their rate
        amount = rng.gauss(mean, std)
        if amount < 0:
            amount = rng.uniform(0, 2 * mean)
        out.append((second, rng.choice(terminals), round(amount, 2)))
    return out


def _daily_draws(config: CardSimConfig) -> Iterator[tuple[list[int], list[int]]]:
    """Each day's newly compromised terminals and customers, day 0 first."""
    rng = random.Random(f"{config.seed}:compromised")
    for _ in range(config.days):
        terminals = rng.sample(range(config.terminals), min(TERMINALS_PER_DAY, config.terminals))
        yield terminals, rng.sample(range(config.customers), min(CARDS_PER_DAY, config.customers))


def simulate_cards(config: CardSimConfig) -> Iterator[Transaction]:
    """Yield the transactions of ``config.days`` days in nondecreasing time, a day at a time.

    Ids are ``hb-<n>`` from ``hb-0`` in stream order; ``user_id`` is the
    customer's number and ``merchant_id`` the terminal's, as text. Genuine
    transactions have ``label=0`` and no kind, frauds ``label=1`` and a kind of
    :data:`SCENARIOS`. Memory holds one day of transactions, the customer and
    terminal tables and the pending frauds.
    """
    customers = _customers(config)
    user_ids = [str(n) for n in range(config.customers)]
    merchant_ids = [str(n) for n in range(config.terminals)]
    seed, days, first = config.seed, config.days, _start_epoch(config.start)
    rng = random.Random()  # reseeded for every customer-day
    picker = random.Random(f"{seed}:cards")
    terminal_until: dict[int, int] = {}  # compromised terminal -> first day it is clean again
    pending: dict[int, dict[int, Counter[int]]] = {}  # day -> customer -> tx index -> times x5
    high, terminal_kind, card_kind = SCENARIOS
    seq = 0
    for day, (terminals, victims) in enumerate(_daily_draws(config)):
        for terminal in terminals:
            terminal_until[terminal] = max(terminal_until.get(terminal, 0), day + TERMINAL_DAYS)
        terminal_until = {t: until for t, until in terminal_until.items() if until > day}
        # The third is taken from the victims' pooled transactions of the whole
        # window, so the window's days are generated now (and again on the day).
        pool = [
            (d, victim, i)
            for victim in victims
            for d in range(day, min(day + CARD_DAYS, days))
            for i in range(len(_customer_day(rng, seed, victim, customers[victim], d)))
        ]
        for d, victim, i in picker.sample(pool, len(pool) // CARD_SHARE):
            # A transaction drawn twice (its card drawn again within the window) is x25.
            pending.setdefault(d, {}).setdefault(victim, Counter())[i] += 1
        today = pending.pop(day, {})
        rows: list[tuple[int, int, int, int, float, str | None]] = []
        for index, customer in enumerate(customers):
            boosted = today.get(index)
            for i, (second, terminal, amount) in enumerate(
                _customer_day(rng, seed, index, customer, day)
            ):
                kind = high if amount > HIGH_AMOUNT else None
                if terminal in terminal_until:
                    kind = terminal_kind
                if boosted and i in boosted:
                    amount = round(amount * CARD_FACTOR ** boosted[i], 2)
                    kind = card_kind
                rows.append((second, index, i, terminal, amount, kind))
        rows.sort()  # (second, customer, i) is unique, so ties are settled the same way everywhere
        midnight = first + day * DAY_SECONDS
        for second, index, _, terminal, amount, kind in rows:
            yield Transaction(
                f"hb-{seq}",
                user_ids[index],
                amount,
                midnight + second,
                merchant_id=merchant_ids[terminal],
                label=0 if kind is None else 1,
                anomaly_kind=kind,
            )
            seq += 1
