"""A player's runs in a few numbers a model can read: its refused actions by reason, and a run cut into periods.

Built after each run from the seat's own records (`SlotOutcome.log`) and the run's daily rows; nothing here is
scored, and a run records the same whether or not anyone reads it. The sandbox collects it for a candidate's
training seeds (`Feedback`), so the next prompt can say what the player did and what was refused, and why.
"""

from __future__ import annotations

from typing import Any

from simcore.checks import is_number
from simcore.seat import MAX_REFUSAL_KINDS, SlotOutcome
from simcore.slot import COUNTS

PERIODS = 12  # rows of a run's summary: about a month each in a year
MAX_SEEN = 8  # observations per row: the first numeric ones the slot declares


def periods(outcome: SlotOutcome, count: int = PERIODS) -> list[dict[str, Any]]:
    """The run cut into `count` periods of (nearly) equal days (one a day when it is shorter): for each, its first
    and last day (`days`), its executed actions by name (`trades`: how many, the sum of their amounts, and the sum
    of what the other token moved), the actions `refused`, the `wallet` at its end and the numeric observations the
    player saw on its last day (`seen`, at most MAX_SEEN)."""
    log, stats = outcome.log, outcome.result.stats
    days = len(stats) - 1
    ends = sorted({days * k // count for k in range(1, count + 1)} - {0})
    rows, start, n = [], 1, 0
    for end in ends:
        trades: dict[str, list[float]] = {}
        while n < len(log.trades) and log.trades[n][0] <= end:
            _, what, amount, moved = log.trades[n]
            tally = trades.setdefault(what, [0, 0.0, 0.0])
            tally[0] += 1
            tally[1] += amount
            tally[2] += abs(moved)
            n += 1
        before, after = stats[start - 1][log.key], stats[end][log.key]
        seen = [(name, float(value)) for name, value in log.rows[end].items() if name != "i" and is_number(value)]
        rows.append({
            "days": [start, end],
            "trades": trades,
            "refused": after["refused"] - before["refused"],
            "wallet": {ticker: balance for ticker, balance in after.items() if ticker not in COUNTS},
            "seen": dict(seen[:MAX_SEEN]),
        })  # fmt: skip
        start = end + 1
    return rows


class Feedback:
    """What several runs of one player (its seeds, in order) show a model: the refusals merged by reason, and the
    first run's periods.

    Of the reasons, the first MAX_REFUSAL_KINDS met are kept, each with its count, the runs it happened in and the
    first (seed, day); `others` counts the refusals of every other reason.
    """

    def __init__(self) -> None:
        self.runs = 0
        self.seed: int | None = None
        self.periods: list[dict[str, Any]] = []
        self.refusals: dict[str, dict[str, int]] = {}
        self.others = 0

    def add(self, seed: int, outcome: SlotOutcome) -> None:
        """Takes in one run (the first one's periods too)."""
        self.runs += 1
        if self.seed is None:
            self.seed, self.periods = seed, periods(outcome)
        told = 0
        for reason, (count, day) in outcome.log.refusals.items():
            known = self.refusals.get(reason)
            if known is None and len(self.refusals) < MAX_REFUSAL_KINDS:
                known = self.refusals[reason] = {"count": 0, "runs": 0, "seed": seed, "day": day}
            if known is not None:
                known["count"] += count
                known["runs"] += 1
                told += count
        self.others += int(outcome.metrics["refused"]) - told

    def to_dict(self) -> dict[str, Any]:
        """Plain data: the `runs` taken in, `seed` and `periods` (the first run's), `refusals` (each with its
        `reason`) and `others`."""
        refusals = [{"reason": reason, **known} for reason, known in self.refusals.items()]
        return {
            "runs": self.runs, "seed": self.seed, "periods": self.periods, "refusals": refusals, "others": self.others,
        }  # fmt: skip
