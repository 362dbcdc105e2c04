"""A pure, deterministic transaction simulator with labelled anomalies.

Users follow the prior system's user model (usual locations, categories,
amounts, payment methods and hours). Time advances one UTC day at a time; a
day's events are generated, sorted and yielded, so memory stays at about one
day of events. The same :class:`SimulatorConfig` always gives the same stream,
on every platform: only ``random.Random`` is used, never numpy.

``fraud_rate`` is the expected fraction of *labelled transactions*, not of
episodes: each would-be normal transaction is replaced by an anomaly episode
with probability ``q``, the kind is drawn uniformly, and ``q`` is set so that
multi-event kinds (a card_testing episode is 6-15 transactions, all labelled)
are counted by the transactions they produce.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from operator import itemgetter

from models.transaction import MAX_EPOCH, MIN_EPOCH, Transaction

__all__ = ["ANOMALY_KINDS", "SimUser", "SimulatorConfig", "make_users", "simulate"]

ANOMALY_KINDS: tuple[str, ...] = (
    "unusual_location",
    "high_amount",
    "unusual_merchant_category",
    "unusual_hour",
    "unusual_payment_method",
    "rapid_burst",
    "multi_location",
    "card_testing",
)
#: Transactions per episode (inclusive range); kinds not listed produce one.
EPISODE_SIZES: dict[str, tuple[int, int]] = {
    "rapid_burst": (5, 10),
    "multi_location": (3, 4),
    "card_testing": (6, 15),
}
#: Expected transactions per episode with kinds drawn uniformly (3.3125).
MEAN_EPISODE_SIZE: float = sum(
    sum(EPISODE_SIZES.get(kind, (1, 1))) / 2 for kind in ANOMALY_KINDS
) / len(ANOMALY_KINDS)

#: country -> (currency, region, weight); regions decide what counts as far away.
COUNTRIES: dict[str, tuple[str, str, float]] = {
    "US": ("USD", "americas", 20), "CA": ("CAD", "americas", 6), "MX": ("MXN", "americas", 3),
    "BR": ("BRL", "latam", 4), "AR": ("ARS", "latam", 1),
    "GB": ("GBP", "europe", 10), "DE": ("EUR", "europe", 8), "FR": ("EUR", "europe", 7),
    "ES": ("EUR", "europe", 4), "IT": ("EUR", "europe", 4), "NL": ("EUR", "europe", 3),
    "IN": ("INR", "asia", 10), "JP": ("JPY", "asia", 5), "CN": ("CNY", "asia", 3),
    "KR": ("KRW", "asia", 3), "SG": ("SGD", "asia", 2), "AU": ("AUD", "asia", 4),
    "ZA": ("ZAR", "africa_me", 2), "AE": ("AED", "africa_me", 2), "NG": ("NGN", "africa_me", 1),
}  # fmt: skip
#: category -> (weight as a usual category, weight as an unusual one).
CATEGORIES: dict[str, tuple[float, float]] = {
    "Grocery": (10, 1), "Restaurant": (9, 1), "Retail": (8, 1), "Online Services": (7, 1),
    "Fuel": (6, 1), "Utilities": (5, 1), "Entertainment": (5, 1), "Health": (4, 1),
    "Electronics": (3, 4), "Travel": (3, 1), "Jewelry": (0.5, 4), "Gambling": (0.5, 4),
}  # fmt: skip
PAYMENT_METHODS: dict[str, float] = {
    "Credit Card": 10, "Debit Card": 8, "Digital Wallet": 6, "Bank Transfer": 2, "Crypto": 0.3,
}  # fmt: skip
MERCHANTS_PER_CATEGORY = 200
_CATEGORY_NAMES = tuple(CATEGORIES)
_CATEGORY_INDEX = {c: i for i, c in enumerate(_CATEGORY_NAMES)}
_HOME_WEIGHTS = {c: v[2] for c, v in COUNTRIES.items()}
_USUAL_CATEGORY_WEIGHTS = {c: v[0] for c, v in CATEGORIES.items()}
#: merchant_id -> category; merchant i sells category i % len(CATEGORIES).
MERCHANT_CATEGORY: dict[str, str] = {
    f"m-{i:05d}": _CATEGORY_NAMES[i % len(_CATEGORY_NAMES)]
    for i in range(MERCHANTS_PER_CATEGORY * len(_CATEGORY_NAMES))
}
DAY_MS = 86_400_000
HOUR_MS = 3_600_000


# (time in ms, user_id, amount, currency, location, merchant_id, category, method, device, kind)
_Event = tuple[int, str, float, str, str, str, str, str, str, str | None]


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """What to simulate; the same config always gives the same stream."""

    users: int = 1000
    fraud_rate: float = 0.01
    seed: int = 42
    start: float = 1767225600.0  # 2026-01-01T00:00:00Z
    # The users and their habits come from this seed when given, else from
    # ``seed``: new transactions of the same people, under the same ids.
    users_seed: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.users, bool) or not isinstance(self.users, int) or self.users < 1:
            raise ValueError(f"users must be an integer >= 1, got {self.users!r}")
        if not 0 <= self.fraud_rate <= 0.5:  # also rejects NaN
            raise ValueError(f"fraud_rate must be between 0 and 0.5, got {self.fraud_rate!r}")
        if self.users_seed is not None and (
            isinstance(self.users_seed, bool) or not isinstance(self.users_seed, int)
        ):
            raise ValueError(f"users_seed must be an integer or None, got {self.users_seed!r}")
        if not MIN_EPOCH <= self.start < MAX_EPOCH:
            raise ValueError(f"start must be epoch seconds in 2000-2100, got {self.start!r}")


@dataclass(frozen=True, slots=True)
class SimUser:
    """One simulated user's habits; ``locations[0]`` is home, ``hours`` are UTC hours."""

    user_id: str
    locations: tuple[str, ...]
    categories: tuple[str, ...]
    amount_median: float
    amount_sigma: float
    payment_methods: tuple[str, ...]
    hours: tuple[int, ...]
    devices: tuple[str, ...]
    currency: str
    activity: float  # mean transactions per day
    merchants: tuple[str, ...]


def start_after(newest: float | None, now: float) -> float:
    """The start of a simulation that follows one whose newest event is at ``newest``
    (epoch seconds; None if there was none): the next midnight UTC after it,
    and no earlier than today's midnight, so that every user's clock runs on.

    >>> start_after(None, 1767270000.0), start_after(1767398400.5, 1767270000.0)
    (1767225600.0, 1767484800.0)
    """
    day = DAY_MS // 1000
    today = now - now % day
    if newest is None:
        return today
    return max(today, newest - newest % day + day)


def make_users(config: SimulatorConfig) -> list[SimUser]:
    """The users :func:`simulate` uses for ``config``, in user-id order."""
    seed = config.seed if config.users_seed is None else config.users_seed
    rng = random.Random(f"{seed}:users")
    width = max(5, len(str(config.users)))
    return [_make_user(rng, f"u{n:0{width}d}") for n in range(1, config.users + 1)]


def _distinct(rng: random.Random, weights: dict[str, float], k: int) -> tuple[str, ...]:
    names, w = list(weights), list(weights.values())
    picked: dict[str, None] = {}
    while len(picked) < k:
        picked.update(dict.fromkeys(rng.choices(names, w, k=k)))
    return tuple(picked)[:k]


def _make_user(rng: random.Random, user_id: str) -> SimUser:
    locations = _distinct(rng, _HOME_WEIGHTS, rng.randint(1, 3))
    categories = _distinct(rng, _USUAL_CATEGORY_WEIGHTS, rng.randint(2, 4))
    # Night owls may use 6 and 23, but never 0-5: unusual_hour always has 1-5 AM to use.
    hour_pool = range(6, 24) if rng.random() < 0.1 else range(7, 23)
    n_merchants = rng.randint(5, 15)
    merchants = {_pool_merchant(rng, c): None for c in categories}  # every category has one
    while len(merchants) < n_merchants:  # ends: each category has 200 merchants to pick from
        merchants[_pool_merchant(rng, rng.choice(categories))] = None
    return SimUser(
        user_id=user_id,
        locations=locations,
        categories=categories,
        amount_median=round(math.exp(rng.uniform(math.log(15), math.log(250))), 2),
        amount_sigma=round(rng.uniform(0.4, 0.7), 3),
        payment_methods=_distinct(rng, PAYMENT_METHODS, rng.randint(1, 2)),
        hours=tuple(sorted(rng.sample(hour_pool, rng.randint(3, 6)))),
        devices=tuple(f"d-{user_id}-{i}" for i in range(1, rng.randint(1, 2) + 1)),
        currency=COUNTRIES[locations[0]][0],
        activity=round(1 + 11 * rng.random() ** 3, 2),  # mostly low, a few heavy users
        merchants=tuple(merchants),
    )


def _pool_merchant(rng: random.Random, category: str) -> str:
    nth = rng.randrange(MERCHANTS_PER_CATEGORY)
    return f"m-{_CATEGORY_INDEX[category] + nth * len(_CATEGORY_NAMES):05d}"


def _hour_distance(a: int, b: int) -> int:
    return min((a - b) % 24, (b - a) % 24)


def simulate(config: SimulatorConfig, count: int | None = None) -> Iterator[Transaction]:
    """Yield transactions in non-decreasing event time, ``count`` of them or forever.

    Ids are ``tx-<seed>-<sequence>``; normal transactions have ``label=0``, every
    transaction of an anomaly episode ``label=1`` and its kind in ``anomaly_kind``.

    >>> [tx.transaction_id for tx in simulate(SimulatorConfig(users=5, seed=7), count=2)]
    ['tx-7-000000000', 'tx-7-000000001']
    """
    if count is not None and count < 0:
        raise ValueError(f"count must be >= 0 or None, got {count!r}")
    return _generate(config, count)


def _generate(config: SimulatorConfig, count: int | None) -> Iterator[Transaction]:
    users = make_users(config)
    rng = random.Random(f"{config.seed}:events")
    f = config.fraud_rate
    # Solve q*M / (1 - q + q*M) = f, so labelled transactions make up fraud_rate of all.
    episode_p = f / (MEAN_EPISODE_SIZE * (1 - f) + f)
    start_ms = round(config.start * 1000)
    day_ms = start_ms - start_ms % DAY_MS  # hours are UTC clock hours
    prefix, seq = f"tx-{config.seed}-", 0
    while count is None or seq < count:
        events: list[_Event] = []
        for user in users:
            threshold, n, p = math.exp(-user.activity), 0, rng.random()
            while p > threshold:  # Knuth's Poisson sampler; activity is small
                n += 1
                p *= rng.random()
            # A person is in one place a day: home mostly, sometimes another usual one.
            locs = user.locations
            where = locs[0] if len(locs) == 1 or rng.random() < 0.8 else rng.choice(locs[1:])
            for _ in range(n):
                ts = day_ms + rng.choice(user.hours) * HOUR_MS + int(rng.random() * HOUR_MS)
                if rng.random() < episode_p:
                    events += _episode(rng, user, rng.choice(ANOMALY_KINDS), ts, day_ms)
                else:
                    events.append(_draw(rng, user, ts, location=where))
        events.sort(key=itemgetter(0))  # stable, so ties keep generation order
        for ts, uid, amount, cur, loc, merchant, category, method, device, kind in events:
            if ts < start_ms:
                continue
            if count is not None and seq >= count:
                return
            yield Transaction(
                f"{prefix}{seq:09d}", uid, amount, ts / 1000, cur, loc, merchant, category,
                method, device, 0 if kind is None else 1, kind,
            )  # fmt: skip
            seq += 1
        day_ms += DAY_MS


def _draw(
    rng: random.Random,
    user: SimUser,
    ts: int,
    kind: str | None = None,
    *,
    amount: float | None = None,
    location: str | None = None,
    merchant: str | None = None,
    method: str | None = None,
    device: str | None = None,
) -> _Event:
    """One event with the given fields and the user's usual habits for the rest."""
    if amount is None:
        amount = _usual_amount(rng, user)
    if location is None:
        locs = user.locations
        location = locs[0] if len(locs) == 1 or rng.random() < 0.8 else rng.choice(locs[1:])
    if merchant is None:
        merchant = rng.choice(user.merchants)
    if method is None:
        method = rng.choice(user.payment_methods)
    if device is None:
        devs = user.devices
        device = devs[0] if len(devs) == 1 or rng.random() < 0.85 else devs[1]
    category = MERCHANT_CATEGORY[merchant]
    event = (ts, user.user_id, amount, user.currency, location, merchant, category, method, device)
    return (*event, kind)


def _usual_amount(rng: random.Random, user: SimUser) -> float:
    return max(0.01, round(rng.lognormvariate(math.log(user.amount_median), user.amount_sigma), 2))


def _episode(rng: random.Random, user: SimUser, kind: str, ts: int, day_ms: int) -> list[_Event]:
    """The events of one anomaly; each single-event kind changes exactly one habit."""
    if kind == "unusual_location":
        regions = {COUNTRIES[c][1] for c in user.locations}
        far = [c for c, v in COUNTRIES.items() if v[1] not in regions]
        return [_draw(rng, user, ts, kind, location=rng.choice(far))]
    if kind == "high_amount":
        amount = max(user.amount_median * rng.uniform(5, 30), rng.uniform(300, 800))
        return [_draw(rng, user, ts, kind, amount=round(amount, 2))]
    if kind == "unusual_merchant_category":
        others = {c: v[1] for c, v in CATEGORIES.items() if c not in user.categories}
        category = _distinct(rng, others, 1)[0]
        return [_draw(rng, user, ts, kind, merchant=_pool_merchant(rng, category))]
    if kind == "unusual_hour":
        hours = [h for h in range(1, 6) if all(_hour_distance(h, u) >= 3 for u in user.hours)]
        ts = day_ms + rng.choice(hours) * HOUR_MS + ts % HOUR_MS
        return [_draw(rng, user, ts, kind)]
    if kind == "unusual_payment_method":
        unused = [m for m in PAYMENT_METHODS if m not in user.payment_methods]
        return [_draw(rng, user, ts, kind, method=rng.choice(unused))]
    size = rng.randint(*EPISODE_SIZES[kind])
    span = {"rapid_burst": 180_000, "multi_location": 600_000, "card_testing": 300_000}[kind]
    span = rng.randint(span // 3, span)
    # Keep the whole episode inside the day, so days can be yielded one after another.
    first = min(ts, day_ms + DAY_MS - span - 1)
    times = [first, *sorted(first + rng.randrange(span + 1) for _ in range(size - 1))]
    if kind == "rapid_burst":  # a little above the user's usual amounts, on their own device
        amounts = [round(_usual_amount(rng, user) * rng.uniform(1, 2), 2) for _ in times]
        device = user.devices[0]
        return [
            _draw(rng, user, t, kind, amount=a, device=device)
            for t, a in zip(times, amounts, strict=True)
        ]
    if kind == "multi_location":
        # A copied card used in several foreign countries within minutes.
        others = [c for c in COUNTRIES if c not in user.locations]
        places = rng.sample(others, size)
        return [_draw(rng, user, t, kind, location=c) for t, c in zip(times, places, strict=True)]
    # card_testing: one merchant, usually online, often from a device never seen before.
    category = "Online Services" if rng.random() < 0.6 else rng.choice(_CATEGORY_NAMES)
    merchant = _pool_merchant(rng, category)
    device = user.devices[0] if rng.random() < 0.3 else f"d-unknown-{rng.randrange(16**8):08x}"
    amounts = [round(rng.uniform(0.5, 3.0), 2) for _ in times]
    return [
        _draw(rng, user, t, kind, amount=a, merchant=merchant, device=device)
        for t, a in zip(times, amounts, strict=True)
    ]
