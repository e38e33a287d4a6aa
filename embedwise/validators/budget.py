"""The budget of a `choose` run: durations as the user writes them, the clock, and what is known of each candidate."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from embedwise.validators.results import ModelRun

PROBE_TEXTS = 16
MAX_FINALISTS = 3
SCREEN_SHARE = 0.5  # a screening round may take at most this share of the time left
POOLING_SHARE = 0.25  # the cheapest dense model embeds the whole corpus for pooling if that fits this share


def parse_duration(text: str | float | int | None) -> float | None:
    """`600`, `90s`, `10m`, `1.5h` as seconds; None or "none" for no limit."""
    if text is None or isinstance(text, (int, float)):
        return None if text is None else float(text)
    raw = text.strip().lower()
    if raw in ("", "none", "0"):
        return None
    unit = {"s": 1, "m": 60, "h": 3600}.get(raw[-1])
    try:
        value = float(raw[:-1] if unit else raw) * (unit or 1)
    except ValueError:
        from embedwise.errors import BadInput

        raise BadInput(f"not a duration: {text!r} (write 600, 90s, 10m or 1.5h)", where="--time-budget") from None
    if value <= 0:
        from embedwise.errors import BadInput

        raise BadInput("the time budget must be positive", where="--time-budget")
    return value


class Clock:
    def __init__(self, budget_s: float | None):
        self.start, self.budget = time.perf_counter(), budget_s

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def remaining(self) -> float:
        """Time left, planned against 95% of the budget: estimates err, and the report still has to be written."""
        return float("inf") if self.budget is None else max(0.0, 0.95 * self.budget - self.elapsed())


@dataclass
class Candidate:
    ref: str
    name: str = ""
    kind: str = "dense"
    seconds_per_char: float | None = None  # encoding speed, measured
    load_s: float = 0.0
    full: ModelRun | None = None  # measured on the whole set already (BM25, the pooling model)
    last: ModelRun | None = None  # the latest screening run
    rounds: list[dict] = field(default_factory=list)
