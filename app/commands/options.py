"""Options shared by the commands that simulate transactions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faust.cli import option


def simulation_options(count: int, seed: int) -> list[Callable[[Any], Any]]:
    """``--users --count --fraud-rate --seed`` with the given defaults."""
    return [
        option("--users", type=int, default=1000, show_default=True, help="simulated users"),
        option("--count", type=int, default=count, show_default=True, help="transactions"),
        option(
            "--fraud-rate",
            type=float,
            default=0.01,
            show_default=True,
            help="share of anomalous transactions (ground truth in `label`)",
        ),
        option("--seed", type=int, default=seed, show_default=True, help="simulator seed"),
    ]
