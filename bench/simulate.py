"""Benchmark simcore on AI3's two cases against a hand-written tight loop, and against AI3 on node.

Run by hand from the project root: `python -m bench.simulate`. The cases are AI3's quick-start token simulated for one
year, and its 4,641-case fuzz over `iusdcl` x `iail` (finding the largest `aip` and the smallest `diff`) on one core.
The baseline is the same model written by hand in plain Python: local variables, one loop, the same outputs (the daily
rows for the simulation; every case's outputs and the winners for the fuzz), checked equal to simcore's.

These machines are noisy, so each figure is the median of RUNS rounds, and in each round the baseline and simcore are
timed back to back (in alternating order); a ratio is taken within a round. AI3's figures were measured on node on this
kind of machine (issue 18) and are quoted, not re-run: the ratio to them is simcore's time over theirs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import simcore

RUNS = 9
SIMULATIONS = 300  # timed per round for the one-year simulation
AI3_SIMULATE_MS = (0.066, 0.083)  # AI3 on node, one year, per simulation
AI3_FUZZ_S = (0.39, 0.62)  # AI3 on node, the 4,641-case fuzz, one core
CASES = {"iusdcl": range(10, 101), "iail": range(50, 101)}
FIND = {"aip": "max", "diff": "min"}


def hand_written(iail: int = 100, iusdcl: int = 50, days: int = 365) -> dict[str, Any]:
    """The quick-start model by hand: local state, the same daily stats rows as simcore's."""
    ai, usdc, total_buy, total_sell = iail, iusdcl, 0, 0
    price = usdc / ai
    stats = [{"i": 0, "price": price, "ai": ai, "usdc": usdc, "total_buy": 0, "total_sell": 0}]
    for d in range(1, days + 1):
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


def hand_fuzz() -> tuple[list[dict[str, Any]], dict[str, tuple[int, Any]]]:
    """The fuzz by hand: every case's outputs (no daily rows: nobody reads them) and the first best case per target."""
    rows: list[dict[str, Any]] = []
    best: dict[str, tuple[int, Any]] = {}
    for iusdcl in CASES["iusdcl"]:
        for iail in CASES["iail"]:
            ai, usdc, total_buy, total_sell = iail, iusdcl, 0, 0
            price = first = usdc / ai
            for _ in range(365):
                if price <= 1:
                    new_ai = ai - 10
                    usdc = usdc * ai / new_ai
                    ai = new_ai
                    price = usdc / ai
                    total_buy += 10
                if price >= 1:
                    new_ai = ai + 7
                    usdc = usdc * ai / new_ai
                    ai = new_ai
                    price = usdc / ai
                    total_sell += 7
            row = {"iusdcl": iusdcl, "iail": iail, "iaip": first, "ail": ai, "usdcl": usdc, "aip": usdc / ai,
                   "buy": total_buy, "sell": total_sell, "diff": price - first}  # fmt: skip
            for key, how in FIND.items():
                value, current = row[key], best.get(key)
                if current is None or (value > current[1] if how == "max" else value < current[1]):
                    best[key] = (len(rows), value)
            rows.append(row)
    return rows, best


def _seconds(fn: Callable[[], Any], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def rounds(baseline: Callable[[], Any], mine: Callable[[], Any], number: int) -> tuple[float, float, float]:
    """Median seconds per call of the baseline and of simcore, and the median of their ratio within a round."""
    base, ours, ratios = [], [], []
    for k in range(RUNS):
        if k % 2:
            b, m = _seconds(baseline, number), _seconds(mine, number)
        else:
            m, b = _seconds(mine, number), _seconds(baseline, number)
        base.append(b)
        ours.append(m)
        ratios.append(m / b)
    return statistics.median(base), statistics.median(ours), statistics.median(ratios)


def check_same() -> None:
    """simcore and the hand-written loop compute the same things, bit for bit."""
    scenario = simcore.load_scenario("ai3_quickstart")
    result, mine = simcore.simulate(scenario, 1), hand_written()
    assert mine["stats"] == result.stats and all(mine[k] == result.nvars[k] for k in ("ail", "aip", "diff"))
    fuzzed, (rows, best) = simcore.fuzz(scenario, CASES, FIND, years=1), hand_fuzz()
    assert fuzzed.rows == rows, "the fuzz tables differ"
    assert {k: (w.index, w.value) for k, w in fuzzed.winners.items()} == best, "the fuzz winners differ"


def _versus_ai3(seconds: float, ai3: tuple[float, float]) -> str:
    return f"{seconds / ai3[1]:.2f}-{seconds / ai3[0]:.2f}x AI3 on node ({ai3[0]:g}-{ai3[1]:g})"


def main() -> None:
    check_same()
    scenario = simcore.load_scenario("ai3_quickstart")
    days = simcore.day_count(1)
    base, ours, ratio = rounds(lambda: hand_written(days=days), lambda: simcore.simulate(scenario, 1), SIMULATIONS)
    print(
        f"one-year simulate: simcore {ours * 1e3:.3f} ms, hand-written {base * 1e3:.3f} ms: ratio {ratio:.2f}x "
        f"(target <= 1.3x); {_versus_ai3(ours * 1e3, AI3_SIMULATE_MS)} ms"
    )
    base, ours, ratio = rounds(
        lambda: hand_written(days=days), lambda: simcore.simulate("ai3_quickstart", 1), SIMULATIONS
    )
    print(f"  the same by name, simulate('ai3_quickstart', 1): {ours * 1e3:.3f} ms, ratio {ratio:.2f}x")
    base, ours, ratio = rounds(hand_fuzz, lambda: simcore.fuzz(scenario, CASES, FIND, years=1), 1)
    print(
        f"fuzz, 4,641 cases, one core: simcore {ours:.3f} s, hand-written {base:.3f} s: ratio {ratio:.2f}x "
        f"(target <= 1.3x); {_versus_ai3(ours, AI3_FUZZ_S)} s"
    )
    one, two, speedup = rounds(
        lambda: simcore.fuzz(scenario, CASES, FIND, years=1), lambda: simcore.fuzz(scenario, CASES, FIND, years=1,
                                                                                    workers=2), 1
    )  # fmt: skip
    print(f"fuzz over 2 processes: {two:.3f} s against {one:.3f} s on one: {1 / speedup:.2f}x as fast")


if __name__ == "__main__":
    main()
