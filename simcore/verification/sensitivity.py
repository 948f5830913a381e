"""Global sensitivity of a KPI to the varied parameters, over their bounds, with SALib: Sobol' or Morris.

Sobol' (Saltelli's sampling, `SALib.sample.sobol`): `samples` x (parameters + 2) runs; first-order `S1` (the share of
the KPI's variance a parameter explains alone) and total `ST` (alone and with the others), each with its bootstrap
confidence half-width. `samples` must be a power of two. Morris (elementary effects): `samples` trajectories of
(parameters + 1) runs on a grid of `levels`; `mu_star` (the mean absolute effect, in the KPI's units over the
parameter's range) and `sigma` (its spread: interactions or curvature), with `mu_star`'s confidence half-width.

The output is one spec's KPI expression value (`Spec.kpi`) or the specs' least margin (`output="margin"`). Each point
runs on every one of `seeds` (common random numbers across points) and averages them. The analysis needs a number
from every run: a run whose KPI is not finite is an error naming that point. SALib's sampling and bootstrap are
seeded with `seed`, so a result is deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from simcore.batch import Progress, run_many
from simcore.checks import is_count
from simcore.engine import ScenarioRef
from simcore.errors import SimulationError
from simcore.scenario import load_scenario
from simcore.verification.parameters import RangeSpec, check_parameters, parameter_ranges
from simcore.verification.report import plain, sensitivity_chart
from simcore.verification.runs import Runner, check_seeds, mean_over_seeds, run_kpis, run_margins
from simcore.verification.spec import SpecsLike, as_specs, least

if TYPE_CHECKING:
    import pandas as pd

METHODS = {"sobol": ("S1", "S1_conf", "ST", "ST_conf"), "morris": ("mu", "mu_star", "sigma", "mu_star_conf")}
RANKED_BY = {"sobol": "ST", "morris": "mu_star"}


@dataclass(frozen=True)
class SensitivityResult:
    """Each parameter's indices (`indices[name]`), the ranking by `ST` or `mu_star`, and what was run."""

    method: str
    output: str
    specs: tuple[str, ...]
    ranges: dict[str, tuple[float, float]]
    samples: int
    runs: int
    seeds: tuple[int, ...]
    indices: dict[str, dict[str, float]]

    @property
    def ranking(self) -> list[str]:
        """The parameters, most influential first."""
        key = RANKED_BY[self.method]
        return sorted(self.indices, key=lambda name: -self.indices[name][key])

    @property
    def table(self) -> pd.DataFrame:
        """One row per parameter (most influential first): its range and indices."""
        import pandas as pd

        rows = [
            {"parameter": n, "low": self.ranges[n][0], "high": self.ranges[n][1], **self.indices[n]}
            for n in self.ranking
        ]
        return pd.DataFrame(rows).set_index("parameter")

    def to_dict(self) -> dict[str, Any]:
        """The method, what was run, the indices and the ranking, as plain JSON data."""
        keys = ("method", "output", "specs", "ranges", "samples", "runs", "seeds", "indices", "ranking")
        return plain({key: getattr(self, key) for key in keys})

    def chart(self, target: str | Path | BinaryIO) -> None:
        """A PNG of the indices as bars with their confidence half-widths."""
        names = self.ranking
        get = {n: self.indices[n] for n in names}
        if self.method == "sobol":
            series = {
                "S1": ([get[n]["S1"] for n in names], [get[n]["S1_conf"] for n in names]),
                "ST": ([get[n]["ST"] for n in names], [get[n]["ST_conf"] for n in names]),
            }
        else:
            series = {
                "mu*": ([get[n]["mu_star"] for n in names], [get[n]["mu_star_conf"] for n in names]),
                "sigma": ([get[n]["sigma"] for n in names], None),
            }
        title = f"{self.method} sensitivity of the {self.output} of {' and '.join(self.specs)}\n({self.runs} runs)"
        sensitivity_chart(target, names, series, title)


def sensitivity(
    scenario: ScenarioRef,
    specs: SpecsLike,
    params: Mapping[str, RangeSpec],
    method: str = "sobol",
    samples: int = 256,
    output: str = "kpi",
    seeds: Sequence[int] = (0,),
    seed: int = 0,
    levels: int = 4,
    years: float | None = None,
    overrides: Mapping[str, Any] | None = None,
    confidence: float = 0.95,
    workers: int = 1,
    progress: Progress | None = None,
    runner: Runner = run_many,
) -> SensitivityResult:
    """Sobol' or Morris indices of the KPI (or margin) over `params` (each: (low, high) within its bounds, or None
    for its bounds); see the module doc."""
    if method not in METHODS:
        raise SimulationError(f"unknown sensitivity method {method!r} (expected sobol or morris)")
    if output not in ("kpi", "margin"):
        raise SimulationError(f"output must be 'kpi' or 'margin', got {output!r}")
    if not is_count(samples, 2) or (method == "sobol" and samples & (samples - 1)):
        need = "a power of two >= 2" if method == "sobol" else "a whole number >= 2"
        raise SimulationError(f"samples must be {need} for {method}, got {samples!r}")
    if not is_count(levels, 2) or not is_count(seed, 0) or not 0 < confidence < 1:
        raise SimulationError("levels must be a whole number >= 2, seed one >= 0, and confidence in (0, 1)")
    parsed = as_specs(specs)
    if output == "kpi" and len(parsed) != 1:
        raise SimulationError(f"the KPI is one spec's expression, got {len(parsed)} specs: give one, or use the margin")
    loaded = load_scenario(scenario)
    overrides = dict(overrides or {})
    check_parameters(loaded.variables, list(params), overrides)
    ranges = parameter_ranges(loaded.variables, params)
    run_seeds = check_seeds(seeds)
    names = list(ranges)
    problem = {"num_vars": len(names), "names": names, "bounds": [ranges[n] for n in names]}
    points = _sample(method, problem, samples, levels, seed)
    jobs = [({**overrides, **dict(zip(names, map(float, row), strict=True))}, s) for row in points for s in run_seeds]
    span = loaded.years if years is None else years
    if output == "kpi":
        values = run_kpis(loaded, parsed, jobs, span, workers, progress, runner)
    else:
        values = [least(m) for m in run_margins(loaded, parsed, jobs, span, workers, progress, runner)]
    y = np.array(mean_over_seeds(values, len(run_seeds)))
    bad = np.flatnonzero(~np.isfinite(y))
    if len(bad):
        at = ", ".join(f"{n}={v:g}" for n, v in zip(names, points[bad[0]], strict=True))
        raise SimulationError(
            f"the {output} is not a finite number in {len(bad)} of {len(y)} points (first at {at}): sensitivity needs "
            "a number from every run (narrow the ranges, or guard the KPI)"
        )
    indices = _analyze(method, problem, points, y, levels, confidence, seed)
    texts = tuple(s.text for s in parsed)
    spans = {n: (ranges[n][0], ranges[n][1]) for n in names}
    return SensitivityResult(method, output, texts, spans, samples, len(jobs), run_seeds, indices)


def _sample(method: str, problem: dict[str, Any], samples: int, levels: int, seed: int) -> np.ndarray:
    if method == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, samples, calc_second_order=False, seed=seed)
    from SALib.sample import morris

    return morris.sample(problem, samples, num_levels=levels, seed=seed)


def _analyze(
    method: str, problem: dict[str, Any], x: np.ndarray, y: np.ndarray, levels: int, confidence: float, seed: int
) -> dict[str, dict[str, float]]:
    if np.ptp(y) == 0:
        zeros = dict.fromkeys(METHODS[method], 0.0)
        return {name: dict(zeros) for name in problem["names"]}
    if method == "sobol":
        from SALib.analyze import sobol

        rng = np.random.default_rng(seed)  # a generator: SALib takes a seed of 0 for none (`if seed:`)
        found = sobol.analyze(problem, y, calc_second_order=False, conf_level=confidence, seed=rng)
    else:
        from SALib.analyze import morris

        found = morris.analyze(problem, x, y, conf_level=confidence, num_levels=levels, seed=seed)
    return {
        name: {key: float(found[key][j]) if math.isfinite(found[key][j]) else math.nan for key in METHODS[method]}
        for j, name in enumerate(problem["names"])
    }
