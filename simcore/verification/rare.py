"""A rare failure's probability from the margin's lower tail (peaks over threshold), from fewer runs than counting.

Why a tail fit: a scenario's randomness is a seed (a `random.Random` drawn inside its players), so there are no
inputs to tilt and importance sampling is not available in general. What chip design does instead (the fitting half
of Statistical Blockade; its other half, blocking, needs inputs that predict the margin, which a seed does not give)
is to extrapolate the margin's tail: take the `k` lowest margins (a `tail` share of the runs, at least
`min_exceedances`), measure how far each lies below the threshold `u` (the next margin up), fit a generalized Pareto
distribution to those distances by maximum likelihood (`scipy.stats.genpareto`, started from the probability-
weighted-moments fit), and read the failure probability off the fit:

    P(margin < 0) = (k / n) * GPD.sf(u)

A run fails when its margin is below 0 (a margin of exactly 0 counts as a pass even for a strict spec: the tail is
continuous); a run whose margin is NaN (its KPI was not a finite number) is a failure as it is and counts directly. The
interval is a percentile bootstrap: the runs resampled, the threshold and the fit redone (seeded, so deterministic).
`equivalent_runs` is how many plain Monte Carlo runs would give the same standard error. When the threshold itself
is a failure (failures are at least the `tail` share), nothing is extrapolated: the failures are counted.

How many fewer runs, measured (normal margins, 10,000 runs, tail 0.1): plain Monte Carlo's relative standard error
is sqrt((1 - p) / (n p)), so +-10 % at 3 sigma (p = 1.35e-3) takes about 74,000 runs. The tail estimate's relative
error at 3 sigma is about 23 % from 10,000 runs, as good as ~14,000 plain runs: only 1.4 times as efficient, because
the shape parameter's uncertainty dominates an extrapolation so short. What it buys at 3 sigma is an estimate with an
interval from a few thousand runs, where plain Monte Carlo has seen a handful of failures or none. Further out the
factor grows (about 4 at 4 sigma, 50 at 5 sigma, `equivalent_runs`) but so does a bias: a normal tail fits a slightly
negative shape (a bounded tail), so the estimate runs low and can be exactly 0 (`endpoint`, noted). Its bootstrap
interval held the true rate in 90-96 % of trials at 95 % (normal, skewed and t-distributed margins).

When it is valid: the runs are independent (distinct seeds); the margin's lower tail is continuous and smooth enough
for extreme-value theory (almost any continuous distribution: normal, skewed, bounded or heavy); the threshold is far
enough into the tail and there are enough exceedances (>= 50 is comfortable); and failure comes from the same
mechanism as the tail that was sampled. It is NOT valid when failure is a separate rare mechanism the sampled tail
does not show (a pool drained by a rare event, a cliff in the margin: a second mode), when margins are discrete
(ties: a whole-token KPI), or when extrapolating far beyond the data (`extrapolation`: how far failure lies below the
threshold, as a multiple of how far the lowest run does; past ~3 it is guesswork, and a bounded fitted tail that ends
above 0, `endpoint`, gives exactly 0). `notes` names the warnings that apply. The normal fit is also reported,
as chip design's sigma level (`sigma` = mean / std of the margin; `normal_p` = Phi(-sigma)): trust it only for a
margin that is normal (it is off by orders of magnitude for a skewed or heavy-tailed one).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from simcore.batch import Progress, run_many
from simcore.checks import is_count
from simcore.engine import ScenarioRef
from simcore.errors import SimulationError
from simcore.fuzz import CaseSpec
from simcore.verification.report import margin_chart, plain
from simcore.verification.runs import Runner
from simcore.verification.spec import SpecsLike, as_specs, least
from simcore.verification.yields import simulate_seeds

if TYPE_CHECKING:
    import pandas as pd

MIN_EXCEEDANCES = 30
SUMMARY = (
    "specs",
    "seed",
    "runs",
    "estimate",
    "interval",
    "confidence",
    "method",
    "tail",
    "exceedances",
    "threshold",
    "shape",
    "scale",
    "failures",
    "bootstrap",
    "equivalent_runs",
    "extrapolation",
    "endpoint",
    "normal_mean",
    "normal_std",
    "sigma",
    "normal_p",
    "notes",
)


@dataclass(frozen=True)
class TailResult:
    """The failure probability from the margins' tail (`estimate`, `interval`) and how it was found."""

    margins: tuple[float, ...]
    estimate: float
    interval: tuple[float, float]
    confidence: float
    method: str  # "tail" (extrapolated) or "counted" (failures common enough to count)
    tail: float
    exceedances: int
    threshold: float  # u: the margin below which runs are in the tail
    shape: float  # the generalized Pareto's shape (xi; 0 is an exponential tail, < 0 a bounded one)
    scale: float
    failures: int  # runs that failed (NaN margins included)
    bootstrap: int  # resamples that gave an estimate
    equivalent_runs: float  # plain Monte Carlo runs with the same standard error
    normal_mean: float
    normal_std: float
    notes: tuple[str, ...] = ()
    specs: tuple[str, ...] = ()
    seed: int | None = None
    seeds: tuple[int, ...] = field(default=(), repr=False)

    @property
    def runs(self) -> int:
        return len(self.margins)

    @property
    def sigma(self) -> float:
        """The design's sigma level from a normal fit: mean / std of the finite margins."""
        return self.normal_mean / self.normal_std if self.normal_std > 0 else math.inf

    @property
    def normal_p(self) -> float:
        """The failure probability if the margin were normal, Phi(-sigma) (plus the NaN runs' share)."""
        from scipy.stats import norm

        bad = sum(math.isnan(m) for m in self.margins) / self.runs
        return bad + (1 - bad) * float(norm.cdf(-self.sigma))

    @property
    def extrapolation(self) -> float:
        """How far failure (margin 0) lies below the tail's threshold, as a multiple of how far the lowest run does:
        up to 1 failure is within the runs seen, 3 is three times as far out (NaN when counted)."""
        finite = [m for m in self.margins if math.isfinite(m)]
        reach = self.threshold - min(finite) if finite else 0.0
        return self.threshold / reach if self.method == "tail" and reach > 0 else math.nan

    @property
    def endpoint(self) -> float:
        """The least margin the fitted tail allows (a bounded tail, shape < 0), or -inf."""
        return self.threshold - self.scale / -self.shape if self.method == "tail" and self.shape < 0 else -math.inf

    @property
    def table(self) -> pd.DataFrame:
        """One row per run: run, seed (when run here), margin, failed, in the tail."""
        import pandas as pd

        seeds = self.seeds or (None,) * self.runs
        rows = [
            {"run": k, "seed": s, "margin": m, "failed": not m >= 0, "tail": not m >= self.threshold}
            for k, (s, m) in enumerate(zip(seeds, self.margins, strict=True))
        ]
        return pd.DataFrame(rows)

    def summary(self) -> dict[str, Any]:
        """Everything but the margins, as plain data."""
        return plain({key: getattr(self, key) for key in SUMMARY})

    def to_dict(self) -> dict[str, Any]:
        """The summary and every run's margin, as plain JSON data."""
        return {**self.summary(), "margins": plain(self.margins), "seeds": list(self.seeds)}

    def chart(self, target: str | Path | BinaryIO) -> None:
        """A PNG: the margin histogram with the threshold, and the lower tail with the fitted curves."""
        low, high = self.interval
        title = f"P(fail) {self.estimate:.3g} [{low:.3g}, {high:.3g}] from {self.runs} runs\nsigma {self.sigma:.2f}"
        margin_chart(target, self.margins, title, tail=self.summary())


def _pwm(z: np.ndarray) -> tuple[float, float]:
    """Hosking and Wallis's probability-weighted-moments fit of a generalized Pareto (shape, scale): the start."""
    z = np.sort(z)
    a0 = float(z.mean())
    a1 = float(np.mean((1 - (np.arange(1, len(z) + 1) - 0.35) / len(z)) * z))
    if a0 <= 0 or a0 - 2 * a1 <= 0:
        return 0.0, max(a0, 1e-12)
    return -(a0 / (a0 - 2 * a1) - 2), 2 * a0 * a1 / (a0 - 2 * a1)


def _fit(values: np.ndarray, tail: float, least_k: int) -> tuple[float, str, int, float, float, float]:
    """(probability, method, k, threshold, shape, scale) from margins (NaN ones are failures as they are)."""
    from scipy.stats import genpareto

    n = len(values)
    finite = np.sort(values[np.isfinite(values)])
    bad = n - len(finite)
    k = max(least_k, math.ceil(tail * len(finite)))
    if k >= len(finite):
        raise SimulationError(
            f"a tail fit needs more than {k} runs with a finite margin, got {len(finite)}: run more, or lower the tail "
            "share or min_exceedances"
        )
    u = float(finite[k])
    if u <= 0:  # the threshold itself fails: failures are common enough to count
        return (bad + int(np.sum(finite < 0))) / n, "counted", k, u, math.nan, math.nan
    z = u - finite[:k]
    start, scale0 = _pwm(z)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        shape, _, scale = genpareto.fit(z, start, floc=0, scale=scale0)
    p_tail = k / len(finite) * float(genpareto.sf(u, shape, 0, scale))
    return bad / n + len(finite) / n * p_tail, "tail", k, u, float(shape), float(scale)


def fit_tail(
    margins: Sequence[float],
    tail: float = 0.1,
    confidence: float = 0.95,
    bootstrap: int = 200,
    seed: int = 0,
    min_exceedances: int = MIN_EXCEEDANCES,
) -> TailResult:
    """P(margin < 0) from `margins` by a generalized Pareto fit to the lowest `tail` share (see the module doc), with
    a percentile bootstrap interval of `bootstrap` resamples drawn with `seed`."""
    if not 0 < tail < 1:
        raise SimulationError(f"tail must be a share between 0 and 1, got {tail!r}")
    if not 0 < confidence < 1:
        raise SimulationError(f"confidence must be between 0 and 1, got {confidence!r}")
    if not is_count(bootstrap, 0) or not is_count(min_exceedances, 1):
        raise SimulationError("bootstrap must be a whole number >= 0 and min_exceedances one >= 1")
    values = np.array(margins, dtype=float)
    estimate, method, k, u, shape, scale = _fit(values, tail, min_exceedances)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(bootstrap):
        resampled = values[rng.integers(0, len(values), len(values))]
        try:
            draws.append(_fit(resampled, tail, min_exceedances)[0])
        except (SimulationError, ValueError, FloatingPointError):
            continue
    alpha = (1 - confidence) / 2
    if draws:
        low, high = (float(q) for q in np.quantile(draws, [alpha, 1 - alpha]))
        var = float(np.var(draws, ddof=1)) if len(draws) > 1 else 0.0
    else:
        low = high = estimate
        var = 0.0
    equivalent = estimate * (1 - estimate) / var if var > 0 else math.inf
    finite = values[np.isfinite(values)]
    failures = int(np.sum(~(values >= 0)))
    mean = float(np.mean(finite)) if len(finite) else math.nan
    std = float(np.std(finite, ddof=1)) if len(finite) > 1 else math.nan
    kept = tuple(float(m) for m in values)
    fitted = (estimate, (low, high), confidence, method, tail, k, u, shape, scale)
    result = TailResult(kept, *fitted, failures, len(draws), equivalent, mean, std)
    return replace(result, notes=_notes(result))


def _notes(fit: TailResult) -> tuple[str, ...]:
    if fit.method == "counted":
        return ("failures are at least the tail share: counted, not extrapolated",)
    notes = []
    if fit.exceedances < 50:
        notes.append(f"only {fit.exceedances} runs in the tail: the fit is rough (50 or more is comfortable)")
    if fit.shape > 0.5:
        notes.append(f"a heavy tail (shape {fit.shape:.2f} > 0.5): the estimate is unstable; run more")
    if fit.extrapolation > 3:
        notes.append(
            f"failure lies {fit.extrapolation:.3g} times as far below the threshold as the lowest run: far "
            "beyond the data"
        )
    if fit.endpoint > 0:
        notes.append(
            f"the fitted tail ends at margin {fit.endpoint:.3g}, above 0, so its estimate is 0: trust it as "
            "far as that end"
        )
    if fit.bootstrap and fit.interval[1] > 10 * max(fit.estimate, 1e-300):
        notes.append("the interval spans more than a factor 10: run more")
    return tuple(notes)


def rare_event(
    scenario: ScenarioRef,
    specs: SpecsLike,
    runs: int,
    seed: int = 0,
    years: float | None = None,
    overrides: Mapping[str, Any] | None = None,
    vary: Mapping[str, CaseSpec | None] | None = None,
    tail: float = 0.1,
    confidence: float = 0.95,
    bootstrap: int = 200,
    min_exceedances: int = MIN_EXCEEDANCES,
    workers: int = 1,
    progress: Progress | None = None,
    runner: Runner = run_many,
) -> TailResult:
    """Run `runs` seeds as `monte_carlo_yield` does and estimate the failure probability from the margin's tail."""
    parsed = as_specs(specs)
    seeds, spec_margins = simulate_seeds(
        scenario, parsed, runs, seed, years, overrides, vary, workers, progress, runner
    )
    fit = fit_tail([least(m) for m in spec_margins], tail, confidence, bootstrap, seed, min_exceedances)
    return replace(fit, specs=tuple(s.text for s in parsed), seed=seed, seeds=tuple(seeds))
