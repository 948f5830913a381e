"""Monte Carlo: the same scenario run many times, each run with its own random generator.

Run `k`'s seed is derived from the master seed and `k` (numpy's SeedSequence), so runs are independent,
the same master seed gives the same numbers, and adding runs never changes the earlier ones. A varied variable
(`vary`) is drawn per run from its values, or from its component parameter's bounds when none are given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from simcore.batch import Job, Progress, Runner, run_many
from simcore.checks import is_count
from simcore.engine import ScenarioRef
from simcore.errors import SimulationError
from simcore.fuzz import CaseSpec, case_ranges, draw_value
from simcore.scenario import Scenario, load_scenario
from simcore.variables import Variable, require_known, with_overrides

if TYPE_CHECKING:
    import pandas as pd


PERCENTILES = (5, 25, 50, 75, 95)


def run_seed(seed: int, run: int) -> int:
    """The seed of run `run` under the master `seed`."""
    import numpy as np

    return int(np.random.SeedSequence([seed, run]).generate_state(1, dtype=np.uint64)[0])


@dataclass(frozen=True)
class MonteCarloResult:
    """Every run's seed and `nvars` (its `scalars` only, from a runner other than `run_many`); `table` has a row per
    run, `summary()` a row per variable."""

    seed: int
    seeds: list[int]
    nvars: list[dict[str, Any]]

    @property
    def table(self) -> pd.DataFrame:
        """One row per run: run, seed, then every scalar variable after the run."""
        import pandas as pd

        rows = [
            {"run": k, "seed": s, **{key: x for key, x in nv.items() if isinstance(x, (int, float))}}
            for k, (s, nv) in enumerate(zip(self.seeds, self.nvars, strict=True))
        ]
        return pd.DataFrame(rows)

    def summary(self) -> pd.DataFrame:
        """Per numeric variable: mean, std, min, the 5/25/50/75/95th percentiles, max."""
        import pandas as pd

        numeric = self.table.drop(columns=["run", "seed"]).astype(float)
        stats = {
            "mean": numeric.mean(),
            "std": numeric.std(ddof=1),
            "min": numeric.min(),
            **{f"p{q}": numeric.quantile(q / 100) for q in PERCENTILES},
            "max": numeric.max(),
        }
        return pd.DataFrame(stats).rename_axis("variable")

    def to_dict(self) -> dict[str, Any]:
        """The master seed, every run's seed and nvars, and the summary, as plain data."""
        summary = self.summary()
        return {
            "seed": self.seed,
            "runs": [
                {"run": k, "seed": s, "nvars": nv} for k, (s, nv) in enumerate(zip(self.seeds, self.nvars, strict=True))
            ],
            "summary": {var: row.to_dict() for var, row in summary.iterrows()},
        }


def monte_carlo(
    scenario: ScenarioRef,
    runs: int,
    seed: int = 0,
    years: float | None = None,
    overrides: Mapping[str, Any] | None = None,
    workers: int = 1,
    progress: Progress | None = None,
    vary: Mapping[str, CaseSpec | None] | None = None,
    runner: Runner = run_many,
) -> MonteCarloResult:
    """Simulate `runs` times, run `k` with the seed `run_seed(seed, k)`. Each variable in `vary` is drawn per run
    from its values (a fuzz case: `start:stop` ranges, Spans, lists; None for its component parameter's bounds), by
    the run's generator before anything else, as a random variable is, so its value is in each run's `nvars`.
    `runner` runs them (`run_many`'s signature; another runner may return each run's `scalars` only: the table and
    the summary read no more)."""
    loaded, seeds, jobs = monte_carlo_jobs(scenario, runs, seed, overrides, vary)
    outcomes = runner(loaded, jobs, loaded.years if years is None else years, workers, progress)
    return MonteCarloResult(seed, seeds, [nvars for nvars, _ in outcomes])


def monte_carlo_jobs(
    scenario: ScenarioRef, runs: int, seed: int, overrides: Mapping[str, Any] | None = None,
    vary: Mapping[str, CaseSpec | None] | None = None,
) -> tuple[Scenario, list[int], list[Job]]:  # fmt: skip
    """A Monte Carlo study's scenario (its `vary` variables made random), its runs' seeds and jobs, all checked."""
    if not is_count(runs, 1):
        raise SimulationError(f"runs must be a whole number >= 1, got {runs!r}")
    if not is_count(seed, 0):
        raise SimulationError(f"seed must be a whole number >= 0, got {seed!r}")
    loaded = load_scenario(scenario)
    for name in overrides or {}:
        require_known(name, loaded.variables)
    if vary:
        loaded = replace(loaded, variables=_varied(loaded.variables, vary, overrides or {}))
    seeds = [run_seed(seed, k) for k in range(runs)]
    return loaded, seeds, [(dict(overrides or {}), s) for s in seeds]


def _varied(
    variables: Mapping[str, Variable], vary: Mapping[str, CaseSpec | None], overrides: Mapping[str, Any]
) -> dict[str, Variable]:
    """The definitions with each varied variable made random: drawn from its checked range (`case_ranges`)."""
    fixed = next((name for name in vary if name in overrides), None)
    if fixed is not None:
        raise SimulationError(f"{fixed!r} is both fixed and varied: leave out one of them")
    ranges = case_ranges(variables, vary, sample="random")
    inputs = with_overrides(variables, dict.fromkeys(ranges))  # refuses an output, as fixing one is refused
    return inputs | {name: replace(inputs[name], draw=partial(draw_value, name, spec)) for name, spec in ranges.items()}
