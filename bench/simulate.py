"""Benchmark simcore against a hand-written loop, and the 4,641-case fuzz with 1 and 2 workers.

Run by hand from the project root: `python -m bench.simulate`. Figures are ratios against baselines measured
in the same run, because these machines are noisy; each timing is the best of several repeats.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import simcore

REPEATS = 7


def hand_written(years: float = 1) -> dict[str, Any]:
    """The quick-start model written by hand in plain Python: local state, the same daily stats rows."""
    iail, iusdcl = 100, 50
    ai, usdc, total_buy, total_sell = iail, iusdcl, 0, 0
    price = usdc / ai
    stats = [{"i": 0, "price": price, "ai": ai, "usdc": usdc, "total_buy": 0, "total_sell": 0}]
    for d in range(1, math.ceil(365 * years) + 1):
        row = {"i": d, "price": 0.0, "ai": 0, "usdc": 0.0, "total_buy": 0, "total_sell": 0}
        if price <= 1:
            new_ai = ai - 10
            usdc = usdc * ai / new_ai
            ai = new_ai
            price = usdc / ai
            total_buy += 10
            row["buy"] = 10
        if price >= 1:
            new_ai = ai + 7
            usdc = usdc * ai / new_ai
            ai = new_ai
            price = usdc / ai
            total_sell += 7
            row["sell"] = 7
        row.update(price=price, ai=ai, usdc=usdc, total_buy=total_buy, total_sell=total_sell)
        stats.append(row)
    return {"ail": ai, "aip": usdc / ai, "diff": price - stats[0]["price"], "stats": stats}


def best_of(fn: Callable[[], Any], number: int) -> float:
    """Seconds per call: the best of REPEATS timings of `number` calls."""
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def main() -> None:
    scenario = simcore.load_scenario("ai3_quickstart")
    reference = simcore.simulate(scenario, 1)
    mine = hand_written()
    assert mine["ail"] == reference.nvars["ail"] == 71 and mine["stats"] == reference.stats, "models differ"
    loop = best_of(hand_written, 200)
    sim = best_of(lambda: simcore.simulate(scenario, 1), 200)
    print(
        f"one-year simulate: {sim * 1e3:.3f} ms; hand-written loop: {loop * 1e3:.3f} ms; "
        f"ratio {sim / loop:.2f}x (target <= 1.5x)"
    )

    cases = {"iusdcl": range(10, 101), "iail": range(50, 101)}
    find = {"aip": "max", "diff": "min"}
    rates = {}
    for workers in (1, 2):
        start = time.perf_counter()
        result = simcore.fuzz(scenario, cases, find, years=1, workers=workers)
        rates[workers] = len(result.cases) / (time.perf_counter() - start)
        print(f"fuzz, {len(result.cases)} cases, {workers} worker(s): {rates[workers]:,.0f} cases/s")
    print(f"fuzz speed-up with 2 workers: {rates[2] / rates[1]:.2f}x (target: 2,000 cases/s with 2 workers)")


if __name__ == "__main__":
    main()
