"""Benchmark TokenSPICE's web3 sustainability loop on simcore (`simcore.netlists.wsloop`), at an hourly tick.

Run by hand from the project root: `python -m bench.wsloop` (`--quick` leaves out the 150-year run and prints
its extrapolation only). Printed: ticks per second over a year (the median of three runs), the wall time of a
10-year run and of a 150-year one (1.3 M ticks; extrapolated from the 10-year rate, and not run, if that says it
would take more than ten minutes). Per-tick times are also given as ratios to a baseline measured in the same
run, because these machines are noisy: the per-tick time of TokenSPICE's default 10-day run (242 ticks, the
DataFrame included), the median of seven runs.
"""

from __future__ import annotations

import argparse
import statistics
import time

from simcore.agents import max_ticks
from simcore.agents.netlist import S_PER_DAY, S_PER_HOUR, S_PER_YEAR
from simcore.netlists import run_wsloop

MAX_SECONDS = 600  # run the 150-year loop only if the 10-year rate says it takes less than this
DEFAULT_TICKS = int(max_ticks(10 * S_PER_DAY, S_PER_HOUR)) + 1  # TokenSPICE's default run: 10 days, 242 ticks


def ticks_run(years: float) -> int:
    """Ticks a run of `years` executes: 0 to max_ticks inclusive."""
    return int(max_ticks(years * S_PER_YEAR, S_PER_HOUR)) + 1


def timed(years: float | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of one run (the default 10 days when `years` is None)."""
    wall, cpu = time.perf_counter(), time.process_time()
    rows = run_wsloop(years=years)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert rows["OCEAN_price"].iloc[-1] > 0, "the run ended without a price"
    return wall, cpu


def median_of(runs: int, years: float | None = None) -> tuple[float, float]:
    """The median wall and CPU seconds of `runs` runs."""
    walls, cpus = zip(*(timed(years) for _ in range(runs)), strict=True)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="extrapolate the 150-year run instead of running it")
    args = parser.parse_args()

    timed()  # imports pandas and warms up
    base = median_of(7)[0] / DEFAULT_TICKS
    print(
        f"10-day run ({DEFAULT_TICKS} ticks), median of 7: {base * 1e6:6.2f} us/tick   (baseline; fixed costs included)"
    )

    wall, cpu = (seconds / ticks_run(1) for seconds in median_of(3, 1))
    print(
        f"1-year run ({ticks_run(1):,} ticks), median of 3: {wall * 1e6:6.2f} us/tick, {1 / wall:,.0f} ticks/s "
        f"({1 / cpu:,.0f} per CPU second)   {wall / base:5.2f}x the baseline (target: well over 50,000 ticks/s)"
    )

    decade, decade_cpu = timed(10)
    per_tick = decade / ticks_run(10)
    print(
        f"10-year run ({ticks_run(10):,} ticks): {decade:6.2f} s ({decade_cpu:.2f} s CPU), "
        f"{1 / per_tick:,.0f} ticks/s   {per_tick / base:5.2f}x the baseline per tick"
    )

    estimate = per_tick * ticks_run(150)
    if args.quick or estimate > MAX_SECONDS:
        why = "--quick" if args.quick else f"over {MAX_SECONDS} s"
        print(f"150-year run ({ticks_run(150):,} ticks): about {estimate:,.0f} s, extrapolated ({why}: not run)")
        return
    long, long_cpu = timed(150)
    print(
        f"150-year run ({ticks_run(150):,} ticks): {long:6.1f} s ({long_cpu:.1f} s CPU), "
        f"{ticks_run(150) / long:,.0f} ticks/s   {long / ticks_run(150) / base:5.2f}x the baseline per tick "
        f"(extrapolated from 10 years: {estimate:,.0f} s)"
    )


if __name__ == "__main__":
    main()
