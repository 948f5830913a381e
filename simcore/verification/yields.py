"""Monte Carlo yield: the share of seeds (markets) on which a design meets its specs, with a confidence interval.

Run `k` uses `simcore.montecarlo.run_seed(seed, k)`, as a Monte Carlo study does, so the same seed gives the same
runs and adding runs keeps the earlier ones; varied parameters (`vary`) are drawn per run as `monte_carlo` draws
them. A run passes when every spec holds; a NaN margin (a KPI that is not a finite number) fails. The interval is
Wilson's score interval by default (or Clopper-Pearson's exact one): with no failure at all its failure bound is
still above 0 (about 3.7 / runs at 95 %), as it should be.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from simcore.batch import Progress, run_many
from simcore.engine import ScenarioRef
from simcore.errors import SimulationError
from simcore.fuzz import CaseSpec
from simcore.montecarlo import monte_carlo_jobs
from simcore.verification.report import margin_chart, plain
from simcore.verification.runs import Runner, run_margins
from simcore.verification.spec import SpecsLike, as_specs, least

if TYPE_CHECKING:
    import pandas as pd

INTERVALS = {"wilson": "wilson", "clopper-pearson": "exact"}  # our name -> scipy's


def proportion_interval(
    successes: int, trials: int, confidence: float = 0.95, method: str = "wilson"
) -> tuple[float, float]:
    """A confidence interval of a binomial proportion (scipy's `binomtest(...).proportion_ci`)."""
    from scipy.stats import binomtest

    if method not in INTERVALS:
        raise SimulationError(f"unknown interval {method!r} (expected one of {', '.join(INTERVALS)})")
    if not 0 < confidence < 1:
        raise SimulationError(f"confidence must be between 0 and 1, got {confidence!r}")
    ci = binomtest(successes, trials).proportion_ci(confidence_level=confidence, method=INTERVALS[method])
    return float(ci.low), float(ci.high)


@dataclass(frozen=True)
class YieldResult:
    """Every run's seed, margin per spec and pass; the yield and its interval, the failure rate and its interval."""

    specs: tuple[str, ...]
    seed: int
    seeds: tuple[int, ...]
    spec_margins: tuple[tuple[float, ...], ...]  # per run, per spec
    passed: tuple[bool, ...]
    confidence: float
    method: str
    interval: tuple[float, float]  # of the yield

    @property
    def runs(self) -> int:
        return len(self.passed)

    @property
    def passes(self) -> int:
        return sum(self.passed)

    @property
    def failures(self) -> int:
        return self.runs - self.passes

    @property
    def value(self) -> float:
        """The yield: the share of runs that pass."""
        return self.passes / self.runs

    @property
    def failure_rate(self) -> float:
        return self.failures / self.runs

    @property
    def failure_interval(self) -> tuple[float, float]:
        return 1 - self.interval[1], 1 - self.interval[0]

    @property
    def margins(self) -> tuple[float, ...]:
        """Each run's least margin (NaN where a KPI was not a finite number)."""
        return tuple(least(m) for m in self.spec_margins)

    @property
    def table(self) -> pd.DataFrame:
        """One row per run: run, seed, margin, passed, then each spec's margin (its text as the column)."""
        import pandas as pd

        rows = [
            {"run": k, "seed": s, "margin": least(ms), "passed": ok, **dict(zip(self.specs, ms, strict=True))}
            for k, (s, ms, ok) in enumerate(zip(self.seeds, self.spec_margins, self.passed, strict=True))
        ]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """The summary and every run, as plain JSON data (NaN margins as null)."""
        return plain(
            {
                "specs": self.specs,
                "seed": self.seed,
                "runs": self.runs,
                "passes": self.passes,
                "failures": self.failures,
                "yield": self.value,
                "interval": self.interval,
                "failure_rate": self.failure_rate,
                "failure_interval": self.failure_interval,
                "confidence": self.confidence,
                "method": self.method,
                "per_run": [
                    {"run": k, "seed": s, "margin": least(ms), "margins": ms, "passed": ok}
                    for k, (s, ms, ok) in enumerate(zip(self.seeds, self.spec_margins, self.passed, strict=True))
                ],
            }
        )

    def chart(self, target: str | Path | BinaryIO) -> None:
        """A PNG histogram of the margins with the failure line."""
        title = f"yield {self.value:.4g} [{self.interval[0]:.4g}, {self.interval[1]:.4g}] over {self.runs} runs"
        margin_chart(target, self.margins, title)


def monte_carlo_yield(
    scenario: ScenarioRef,
    specs: SpecsLike,
    runs: int,
    seed: int = 0,
    years: float | None = None,
    overrides: Mapping[str, Any] | None = None,
    vary: Mapping[str, CaseSpec | None] | None = None,
    confidence: float = 0.95,
    method: str = "wilson",
    workers: int = 1,
    progress: Progress | None = None,
    runner: Runner = run_many,
) -> YieldResult:
    """Run `runs` seeds (run `k`: `run_seed(seed, k)`) and count those on which every spec holds."""
    parsed = as_specs(specs)
    seeds, spec_margins = simulate_seeds(
        scenario, parsed, runs, seed, years, overrides, vary, workers, progress, runner
    )
    passed = tuple(all(_holds(spec.strict, m) for spec, m in zip(parsed, ms, strict=True)) for ms in spec_margins)
    interval = proportion_interval(sum(passed), runs, confidence, method)
    texts = tuple(s.text for s in parsed)
    return YieldResult(texts, seed, tuple(seeds), tuple(map(tuple, spec_margins)), passed, confidence, method, interval)


def _holds(strict: bool, margin: float) -> bool:
    return margin > 0 if strict else margin >= 0


def simulate_seeds(
    scenario: ScenarioRef,
    specs: Any,
    runs: int,
    seed: int,
    years: float | None,
    overrides: Mapping[str, Any] | None,
    vary: Mapping[str, CaseSpec | None] | None,
    workers: int,
    progress: Progress | None,
    runner: Runner,
) -> tuple[list[int], list[list[float]]]:
    """The seeds of `runs` Monte Carlo runs and each run's margin per spec (shared with the tail estimate)."""
    loaded, seeds, jobs = monte_carlo_jobs(scenario, runs, seed, overrides, vary)
    span = loaded.years if years is None else years
    return seeds, run_margins(loaded, as_specs(specs), jobs, span, workers, progress, runner)
