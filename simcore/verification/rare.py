"""A rare failure's probability from far fewer runs than counting: the margin's distribution extrapolated, and checked.

Why a model: a scenario's randomness is a seed (a `random.Random` drawn inside its players), so there are no inputs to
tilt and importance sampling is not available in general. What can be done is what chip design does to verify a
3-sigma or 6-sigma circuit from a few thousand simulations: fit the margin's distribution and read P(margin < 0) off
the fit. Two fits, from chip design's two lineages, and plain counting when neither holds:

- `transformed-normal` (chip design's sigma-level verification: the performance's distribution is fitted from the
  body of the runs and extrapolated). The finite margins are standardized (the median and IQR / 1.349, so the fit
  depends neither on the margin's units nor on where the spec's bound lies), Yeo-Johnson-transformed with the lambda
  that makes them most normal (maximum likelihood, the one `scipy.stats.yeojohnson_normmax` finds), and

      P(margin < 0) = Phi((T(0) - mean T(m)) / std T(m))

  Every run informs it, which makes it the efficient one. Valid when one smooth mechanism makes the margin, so that
  the body's shape continues into the tail: a sum of many small random effects, normal or skewed (a total of daily
  exponential outflows), bounded or not. Not valid for a heavy tail (a t-like margin), a tail a power transform does
  not straighten (a single exponential draw), or failures from a separate rare mechanism.
- `pareto-tail` (the tail fit of Statistical Blockade: extreme-value theory; its other half, blocking, needs inputs
  that predict the margin, which a seed does not give). The `k` lowest margins (a `tail` share, at least
  `min_exceedances`) are measured below the threshold `u` (the next margin up), a generalized Pareto distribution is
  fitted to those distances (maximum likelihood, `scipy.stats.genpareto`, from the probability-weighted-moments fit)
  and P(margin < 0) = (k / n) GPD.sf(u). Valid for almost any continuous tail (normal, skewed, bounded or heavy) but
  uses only the tail: at 3 sigma it is only ~1.4 times as efficient as counting, and far out a normal tail's fit
  bends into a bounded one (`endpoint`), so the estimate runs low. Not valid for failures from a separate mechanism
  the sampled tail does not show, for discrete margins, or far beyond the data (`extrapolation` past ~3).
- `counted`: plain Monte Carlo's own count, failures / runs with Wilson's interval, when failures are common (at
  least the `tail` share: nothing to extrapolate) or when no model fits.

The check, and which estimate is reported. A model is trusted only where the runs can vouch for it, its lower tail:
at each tail share q of 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, ... (the generalized Pareto from half its `tail` share
down) below which at least 20 runs lie, the runs' q-quantile x_q is read and the model's P(margin < x_q) compared with
q: d = log(P / q), in standard errors of d from the bootstrap (which refits the model, so the error includes the
fit's). A model is accepted when every |z| <= 3 and the failures seen agree with the model's expected count (two-sided
binomial p >= 0.01: a cliff below the body shows up there). The reported estimate is the transformed normal's when
its check accepts it, else the generalized Pareto's when its check does, else the count with a warning; `reason`
says which and why, `checks` holds each check tried. (A whole-sample test such as Anderson-Darling would judge the
body, which the estimate does not need, and at 10,000 runs it refuses harmless misfits there.) A run fails when its
margin is below 0 (exactly 0 passes even for a strict spec: the tail is continuous); a NaN margin (a KPI that was not
a finite number) is a failure as it is, counted directly. Intervals are percentile bootstraps: the runs resampled
and the model refitted (seeded, so deterministic); `equivalent_runs` is how many plain runs would give the same
standard error.

Measured at 3 sigma (p = 1.35e-3), in trials of synthetic margins (40 to 200 each). Plain Monte Carlo's relative
error is sqrt((1 - p) / (n p)): 27 % at 10,000 runs, 12 % at 50,000. From 10,000 runs:
- a normal margin: the transformed normal is chosen in 96 % of trials (its check refuses a normal margin about 4 %
  of the time), with a relative error of 11-13 % (`equivalent_runs` about 45,000-50,000: 4.5 to 5 times as
  efficient as counting; a plain normal fit would be ~14 times, the transform's lambda costs the rest), no bias, and
  95 % intervals that held the truth in 95 % of trials. The same for a total of 16 exponential draws (skewness -0.5;
  a normal fit says 1.2e-4, 11 times too low). Lognormal margins failing on their long side (sigma 0.25): 15 % low,
  intervals holding the truth 76 % of the time.
- refused (and rightly: the transformed normal would be 2 to 100 times off): every t(5), sum-of-three-uniforms,
  beta, single-exponential and bimodal margin tried, and 70-100 % of gamma- or lognormal-skewed margins failing on
  their short, bounded side where it would be 1.7 times off or more. Then the generalized Pareto: within 3-6 % on
  average with a relative error of 22-27 % (1.6 to 1.8 times as efficient as counting), its intervals holding the
  truth 90-97 % of the time; when it is refused too (most bimodal margins), the count.
- the blind spots, where the check cannot see a misfit that is still within the runs' noise down to the deepest
  share it checks: a mildly skewed margin failing on its short side (a lognormal price, sigma 0.15, against a
  floor) is over-estimated about 1.4 times and refused only a quarter of the time (a spec on `log(price)` makes such
  a margin normal); and a rare separate mechanism that makes half the failures yet only 0.5 % of the runs (a drain
  of 2.5 sigma) is refused only a fifth of the time, its estimate then about 0.7 times the truth. One that drains
  1 % of the runs to the failure line is refused every time (tests/simcore/data/verify_cliff.py).
Further out the factor over counting grows (the model's error grows with the sigma level, counting's with 1 / p),
but so does the share of the estimate that rests on the model alone: `notes` says when failure lies far beyond the
deepest share checked. The normal fit of the raw margin is reported too, as chip design's sigma level (`sigma` =
mean / std, `normal_p` = Phi(-sigma)): trust it only for a normal margin.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
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
from simcore.verification.yields import proportion_interval, simulate_seeds

if TYPE_CHECKING:
    import pandas as pd

NORMAL, PARETO, COUNTED = "transformed-normal", "pareto-tail", "counted"
MODELS = ("auto", NORMAL, PARETO)  # what `fit_tail(model=...)` accepts: choose by the check, or insist on one
MIN_EXCEEDANCES = 30
CHECK_SHARE = 0.1  # the transformed normal is checked on the lowest tenth of the runs
LEVEL_RUNS = 20  # a tail share is checked only when at least this many runs lie below it
CHECK_Z = 3.0  # a model is refused when its tail probability is this many standard errors off at some share
COUNT_ALPHA = 0.01  # ... or when the failures seen are this unlikely under it
MIN_CHECK_RESAMPLES = 20  # the check's standard errors come from the bootstrap
LAMBDA_BOUNDS = (-4.0, 6.0)  # symmetric about 1 (no transform); wide enough for any margin a power can straighten
SUMMARY = (
    "specs",
    "seed",
    "runs",
    "estimate",
    "interval",
    "confidence",
    "method",
    "reason",
    "failures",
    "bootstrap",
    "equivalent_runs",
    "sigma_level",
    "transform",
    "tail",
    "exceedances",
    "threshold",
    "shape",
    "scale",
    "extrapolation",
    "endpoint",
    "normal_mean",
    "normal_std",
    "sigma",
    "normal_p",
    "checks",
    "notes",
)


def yeo_johnson(x: np.ndarray, lam: float) -> np.ndarray:
    """Yeo and Johnson's power transform of `x` (`scipy.stats.yeojohnson(x, lam)`)."""
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    up = x >= 0
    out[up] = _branch(np.log1p(x[up]), lam)
    out[~up] = -_branch(np.log1p(-x[~up]), 2 - lam)
    return out


def _branch(logs: np.ndarray, power: float) -> np.ndarray:
    """((1 + |x|)^power - 1) / power from log1p(|x|): the log itself at power 0."""
    return logs if abs(power) < 1e-12 else np.expm1(power * logs) / power


def yeo_johnson_lambda(x: np.ndarray) -> float:
    """The lambda that maximizes the normal log-likelihood of `yeo_johnson(x, lam)` (the one
    `scipy.stats.yeojohnson_normmax` finds): log1p is taken once, so a bootstrap can afford hundreds of refits."""
    from scipy.optimize import minimize_scalar

    up = x >= 0
    above, below = np.log1p(x[up]), np.log1p(-x[~up])
    jacobian = float(above.sum() - below.sum())  # the log-Jacobian, sum of log |dT/dx|, is (lam - 1) times this

    def minus_loglik(lam: float) -> float:
        y = np.concatenate([_branch(above, lam), -_branch(below, 2 - lam)])
        var = float(np.var(y))
        return 0.5 * len(y) * math.log(var) - (lam - 1) * jacobian if var > 0 and math.isfinite(var) else math.inf

    found = minimize_scalar(minus_loglik, bounds=LAMBDA_BOUNDS, method="bounded", options={"xatol": 1e-6})
    return float(found.x)


@dataclass(frozen=True)
class TransformedNormal:
    """The margin as a normal after a Yeo-Johnson transform of the standardized margin (m - center) / spread."""

    lam: float  # 1 is no transform; < 1 straightens a long upper side, > 1 a long lower one
    center: float  # the median margin
    spread: float  # IQR / 1.349 (the standard deviation of a normal margin)
    mean: float  # of the transformed margins
    std: float

    @classmethod
    def fit(cls, finite: np.ndarray) -> TransformedNormal | None:
        """The maximum-likelihood fit to finite margins, or None when they do not spread."""
        if len(finite) < 3:
            return None
        q1, center, q3 = (float(q) for q in np.quantile(finite, [0.25, 0.5, 0.75]))
        spread = (q3 - q1) / 1.349 if q3 > q1 else float(np.std(finite))
        if not spread > 0:
            return None
        x = (finite - center) / spread
        with np.errstate(over="ignore", invalid="ignore"):
            lam = yeo_johnson_lambda(x)
            y = yeo_johnson(x, lam)
        std = float(np.std(y, ddof=1))
        return cls(lam, center, spread, float(np.mean(y)), std) if std > 0 and math.isfinite(std) else None

    def cdf(self, margins: Any) -> np.ndarray:
        """P(margin < x) for each x of `margins`."""
        from scipy.stats import norm

        with np.errstate(over="ignore", invalid="ignore"):
            y = yeo_johnson((np.atleast_1d(np.asarray(margins, dtype=float)) - self.center) / self.spread, self.lam)
        return norm.cdf((y - self.mean) / self.std)


@dataclass(frozen=True)
class ParetoTail:
    """The lowest `share` of the margins as a generalized Pareto distribution of their distance below `threshold`."""

    share: float  # k / finite runs
    exceedances: int  # k
    threshold: float  # u
    shape: float  # xi: 0 is an exponential tail, < 0 a bounded one, > 0 a heavy one
    scale: float

    @classmethod
    def fit(cls, finite: np.ndarray, tail: float, least_k: int) -> ParetoTail | None:
        """The fit to the `max(least_k, tail * n)` lowest finite margins; None when the threshold itself fails
        (failures are common enough to count)."""
        from scipy.stats import genpareto

        ordered = np.sort(finite)
        k = _exceedances(len(ordered), tail, least_k)
        u = float(ordered[k])
        if u <= 0:
            return None
        z = u - ordered[:k]
        start, scale0 = _pwm(z)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            shape, _, scale = genpareto.fit(z, start, floc=0, scale=scale0)
        return cls(k / len(ordered), k, u, float(shape), float(scale))

    def cdf(self, margins: Any) -> np.ndarray:
        """P(margin < x) for each x of `margins` below the threshold (NaN above it: the body is not modelled)."""
        from scipy.stats import genpareto

        x = np.atleast_1d(np.asarray(margins, dtype=float))
        p = self.share * genpareto.sf(self.threshold - x, self.shape, 0, self.scale)
        return np.where(x <= self.threshold, p, math.nan)

    @property
    def endpoint(self) -> float:
        """The least margin the fitted tail allows (a bounded tail, shape < 0), or -inf."""
        return self.threshold - self.scale / -self.shape if self.shape < 0 else -math.inf


Model = TransformedNormal | ParetoTail


def _exceedances(finite: int, tail: float, least_k: int) -> int:
    k = max(least_k, math.ceil(tail * finite))
    if k >= finite:
        raise SimulationError(
            f"a tail fit needs more than {k} runs with a finite margin, got {finite}: run more, or lower the tail "
            "share or min_exceedances"
        )
    return k


def _pwm(z: np.ndarray) -> tuple[float, float]:
    """Hosking and Wallis's probability-weighted-moments fit of a generalized Pareto (shape, scale): the start."""
    z = np.sort(z)
    a0 = float(z.mean())
    a1 = float(np.mean((1 - (np.arange(1, len(z) + 1) - 0.35) / len(z)) * z))
    if a0 <= 0 or a0 - 2 * a1 <= 0:
        return 0.0, max(a0, 1e-12)
    return -(a0 / (a0 - 2 * a1) - 2), 2 * a0 * a1 / (a0 - 2 * a1)


@dataclass(frozen=True)
class TailCheck:
    """How well a model's lower tail matches the runs': its P(margin < x_q) at the runs' q-quantiles x_q, and the
    failures it expects against those seen."""

    model: str
    levels: tuple[float, ...]  # the tail shares q checked (at least LEVEL_RUNS runs below each)
    quantiles: tuple[float, ...]  # x_q, the runs' margin at each share
    predicted: tuple[float, ...]  # the model's P(margin < x_q)
    z: tuple[float, ...]  # log(predicted / q) in bootstrap standard errors (> 0: the model expects more failures)
    failures: int  # finite runs below 0
    expected: float  # the model's count of them
    count_p: float  # two-sided binomial p-value of the failures seen under the model
    accepted: bool
    verdict: str  # why, in a phrase

    @property
    def worst(self) -> float:
        """The largest |z|, 0 when no share was checked."""
        return max((abs(z) for z in self.z), default=0.0)


@dataclass(frozen=True)
class Estimate:
    """One model's estimate of P(margin < 0) and its bootstrap: what `fit_tail` weighs before choosing."""

    model: str
    value: float
    interval: tuple[float, float]
    resamples: int  # bootstraps that gave an estimate
    variance: float
    check: TailCheck | None

    @property
    def equivalent_runs(self) -> float:
        return self.value * (1 - self.value) / self.variance if self.variance > 0 else math.inf


@dataclass(frozen=True)
class TailResult:
    """The failure probability (`estimate`, `interval`), the model it came from (`method`, `reason`) and its check."""

    margins: tuple[float, ...]
    estimate: float
    interval: tuple[float, float]
    confidence: float
    method: str  # "transformed-normal", "pareto-tail" or "counted"
    reason: str  # why this method: what the checks found
    tail: float  # the generalized Pareto's tail share
    failures: int  # runs that failed (NaN margins included)
    bootstrap: int  # resamples that gave the reported estimate
    equivalent_runs: float  # plain Monte Carlo runs with the same standard error
    normal_mean: float
    normal_std: float
    transformed: TransformedNormal | None = None
    pareto: ParetoTail | None = None
    checks: tuple[TailCheck, ...] = ()  # each model's check, in the order tried
    notes: tuple[str, ...] = ()
    specs: tuple[str, ...] = ()
    seed: int | None = None
    seeds: tuple[int, ...] = field(default=(), repr=False)

    @property
    def runs(self) -> int:
        return len(self.margins)

    @property
    def sigma_level(self) -> float:
        """The estimate as chip design's sigma level: the z with Phi(-z) = estimate."""
        from scipy.stats import norm

        return float(-norm.ppf(self.estimate))

    @property
    def transform(self) -> dict[str, float] | None:
        """The transformed normal's parameters (lam, center, spread, mean, std), or None."""
        return asdict(self.transformed) if self.transformed else None

    @property
    def exceedances(self) -> int:
        return self.pareto.exceedances if self.pareto else 0

    @property
    def threshold(self) -> float:
        """u: the margin below which runs are in the generalized Pareto's tail (NaN when none was fitted)."""
        return self.pareto.threshold if self.pareto else math.nan

    @property
    def shape(self) -> float:
        return self.pareto.shape if self.pareto else math.nan

    @property
    def scale(self) -> float:
        return self.pareto.scale if self.pareto else math.nan

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
        """How far failure (margin 0) lies below the generalized Pareto's threshold, as a multiple of how far the
        lowest run does: up to 1 failure is within the runs seen, 3 is three times as far out (NaN without a fit)."""
        finite = [m for m in self.margins if math.isfinite(m)]
        reach = self.threshold - min(finite) if finite and self.pareto else 0.0
        return self.threshold / reach if reach > 0 else math.nan

    @property
    def endpoint(self) -> float:
        """The least margin the fitted generalized Pareto tail allows (a bounded tail, shape < 0), or -inf."""
        return self.pareto.endpoint if self.pareto else -math.inf

    @property
    def table(self) -> pd.DataFrame:
        """One row per run: run, seed (when run here), margin, failed, in the generalized Pareto's tail."""
        import pandas as pd

        seeds = self.seeds or (None,) * self.runs
        u = self.threshold
        rows = [
            {"run": k, "seed": s, "margin": m, "failed": not m >= 0, "tail": self.pareto is not None and not m >= u}
            for k, (s, m) in enumerate(zip(seeds, self.margins, strict=True))
        ]
        return pd.DataFrame(rows)

    def summary(self) -> dict[str, Any]:
        """Everything but the margins, as plain data."""
        values = {key: getattr(self, key) for key in SUMMARY}
        return plain({**values, "checks": [{**asdict(c), "worst": c.worst} for c in self.checks]})

    def to_dict(self) -> dict[str, Any]:
        """The summary and every run's margin, as plain JSON data."""
        return {**self.summary(), "margins": plain(self.margins), "seeds": list(self.seeds)}

    def chart(self, target: str | Path | BinaryIO) -> None:
        """A PNG: the margin histogram, and the lower tail: the runs, each fitted model and the estimate."""
        from scipy.stats import norm

        low, high = self.interval
        title = (
            f"P(fail) {self.estimate:.3g} [{low:.3g}, {high:.3g}] ({self.method}) from {self.runs} runs\n"
            f"{self.sigma_level:.2f} sigma; a normal fit says {self.sigma:.2f}"
        )
        finite = np.sort([m for m in self.margins if math.isfinite(m)])
        curves: dict[str, tuple[Any, Any]] = {}
        if len(finite):
            share = len(finite) / self.runs
            x = np.linspace(min(0.0, float(finite[0])), float(np.quantile(finite, 0.2)), 200)
            if self.transformed:
                curves["transformed normal"] = (x, share * self.transformed.cdf(x))
            if self.pareto:
                inside = x[x <= self.pareto.threshold]
                curves["generalized Pareto"] = (inside, share * self.pareto.cdf(inside))
            if self.normal_std > 0:
                curves["normal fit"] = (x, share * norm.cdf((x - self.normal_mean) / self.normal_std))
        tail = {"threshold": self.threshold, "estimate": self.estimate, "interval": self.interval, "curves": curves}
        margin_chart(target, self.margins, title, tail=tail)


def fit_tail(
    margins: Sequence[float],
    tail: float = 0.1,
    confidence: float = 0.95,
    bootstrap: int = 200,
    seed: int = 0,
    min_exceedances: int = MIN_EXCEEDANCES,
    model: str = "auto",
) -> TailResult:
    """P(margin < 0) from `margins` (see the module doc): the transformed normal when its tail check accepts it, else
    the generalized Pareto fit to the lowest `tail` share when its check does, else the count. `model` insists on one
    fit whatever its check says (a note says when it fails). Intervals are percentile bootstraps of `bootstrap`
    resamples drawn with `seed`; the check needs at least 20."""
    if not 0 < tail < 1:
        raise SimulationError(f"tail must be a share between 0 and 1, got {tail!r}")
    if not 0 < confidence < 1:
        raise SimulationError(f"confidence must be between 0 and 1, got {confidence!r}")
    if not is_count(bootstrap, 0) or not is_count(min_exceedances, 1):
        raise SimulationError("bootstrap must be a whole number >= 0 and min_exceedances one >= 1")
    if model not in MODELS:
        raise SimulationError(f"unknown model {model!r} (expected one of {', '.join(MODELS)})")
    values = np.array(margins, dtype=float)
    finite = values[np.isfinite(values)]
    _exceedances(len(finite), tail, min_exceedances)  # refuse too few runs up front, whatever is chosen
    failures = int(np.sum(~(values >= 0)))
    base = TailResult(
        margins=tuple(float(m) for m in values),
        estimate=failures / len(values),
        interval=proportion_interval(failures, len(values), confidence),
        confidence=confidence,
        method=COUNTED,
        reason="",
        tail=tail,
        failures=failures,
        bootstrap=0,
        equivalent_runs=float(len(values)),
        normal_mean=float(np.mean(finite)),
        normal_std=float(np.std(finite, ddof=1)),
        transformed=TransformedNormal.fit(finite),
        pareto=ParetoTail.fit(finite, tail, min_exceedances),
    )
    if failures >= tail * len(values):
        reason = f"failures are common ({failures} of {len(values)} runs, at least the tail share {tail:g}): counted"
        return replace(base, reason=reason, notes=_notes(base, None))
    fits: dict[str, tuple[Callable[[np.ndarray], Model | None], float]] = {
        NORMAL: (TransformedNormal.fit, CHECK_SHARE),
        PARETO: (lambda f: ParetoTail.fit(f, tail, min_exceedances), tail / 2),
    }
    tried: list[Estimate] = []
    for name in (NORMAL, PARETO) if model == "auto" else (model,):
        fitted = base.transformed if name == NORMAL else base.pareto
        if fitted is not None:
            refit, top = fits[name]
            tried.append(_bootstrapped(name, fitted, refit, values, top, confidence, bootstrap, seed))
            if _accepted(tried[-1]):
                break
    chosen = next((e for e in tried if model != "auto" or _accepted(e)), None)
    reason = _reason(chosen, tried, model)
    checks = tuple(e.check for e in tried if e.check is not None)
    result = replace(base, reason=reason, checks=checks)
    if chosen is not None:
        result = replace(
            result,
            estimate=chosen.value,
            interval=chosen.interval,
            method=chosen.model,
            bootstrap=chosen.resamples,
            equivalent_runs=chosen.equivalent_runs,
        )
    return replace(result, notes=_notes(result, chosen))


def _accepted(found: Estimate) -> bool:
    return found.check is not None and found.check.accepted


def _probability(fitted: Model, finite: np.ndarray, runs: int) -> float:
    """P(margin < 0) over all runs: the NaN ones fail as they are, the finite ones as the model says."""
    return ((runs - len(finite)) + len(finite) * float(fitted.cdf(0.0)[0])) / runs


def _levels(finite: int, top: float) -> np.ndarray:
    """The tail shares ..., 0.1, 0.05, 0.02, 0.01, ... up to `top`, each with at least LEVEL_RUNS runs below it."""
    shares = [float(f"{m}e-{e}") for e in range(1, 20) for m in (10, 5, 2)]
    return np.array([q for q in shares if q <= top * (1 + 1e-9) and q * finite >= LEVEL_RUNS])


def _deviations(fitted: Model, finite: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The runs' quantiles at `levels` and log(model's P(margin < quantile) / level) there."""
    quantiles = np.quantile(finite, levels) if len(levels) else np.array([])
    with np.errstate(divide="ignore"):
        return quantiles, np.log(fitted.cdf(quantiles) / levels) if len(levels) else np.array([])


def _bootstrapped(
    name: str,
    fitted: Model,
    refit: Callable[[np.ndarray], Model | None],
    values: np.ndarray,
    top: float,
    confidence: float,
    bootstrap: int,
    seed: int,
) -> Estimate:
    """A model's estimate, its percentile bootstrap (the runs resampled and the model refitted each time) and its
    tail check, whose standard errors come from the same resamples."""
    finite = values[np.isfinite(values)]
    levels = _levels(len(finite), top)
    value = _probability(fitted, finite, len(values))
    quantiles, observed = _deviations(fitted, finite, levels)
    rng = np.random.default_rng(seed)
    draws, deviations = [], []
    for _ in range(bootstrap):
        resampled = values[rng.integers(0, len(values), len(values))]
        inside = resampled[np.isfinite(resampled)]
        try:
            again = refit(inside)
        except (SimulationError, ValueError, FloatingPointError):
            continue
        if again is None:
            continue
        draws.append(_probability(again, inside, len(values)))
        deviations.append(_deviations(again, inside, levels)[1])
    alpha = (1 - confidence) / 2
    if draws:
        low, high = (float(q) for q in np.quantile(draws, [alpha, 1 - alpha]))
        variance = float(np.var(draws, ddof=1)) if len(draws) > 1 else 0.0
    else:
        low = high = value
        variance = 0.0
    check = None
    if len(deviations) >= MIN_CHECK_RESAMPLES:
        # a refit whose tail ends above a quantile (log 0) is left out of the standard error rather than make it
        # infinite
        table = np.array(deviations).reshape(len(deviations), len(levels))
        spread = np.nanstd(np.where(np.isfinite(table), table, math.nan), axis=0, ddof=1)
        check = _check(name, fitted, finite, levels, quantiles, observed, spread)
    return Estimate(name, value, (low, high), len(draws), variance, check)


def _check(
    name: str,
    fitted: Model,
    finite: np.ndarray,
    levels: np.ndarray,
    quantiles: np.ndarray,
    observed: np.ndarray,
    spread: np.ndarray,
) -> TailCheck:
    from scipy.stats import binomtest

    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(observed == 0, 0.0, observed / spread)
    z = np.where(np.isnan(z), math.inf, z)  # a deviation the bootstrap cannot size is no fit
    seen = int(np.sum(finite < 0))
    p = float(fitted.cdf(0.0)[0])
    count_p = float(binomtest(seen, len(finite), min(max(p, 0.0), 1.0)).pvalue)
    worst = int(np.argmax(np.abs(z))) if len(z) else -1
    if worst >= 0 and abs(z[worst]) > CHECK_Z:
        side = "more" if z[worst] > 0 else "fewer"
        verdict = (
            f"off by {z[worst]:+.1f} standard errors at tail share {levels[worst]:g} (margin {quantiles[worst]:.4g}): "
            f"it puts {math.exp(observed[worst]):.2g} times the runs there, {side} than seen"
        )
    elif count_p < COUNT_ALPHA:
        verdict = f"{seen} failures seen where it expects {p * len(finite):.3g} (binomial p {count_p:.2g})"
    elif not len(z):
        verdict = f"too few runs to check a tail share (each needs {LEVEL_RUNS} runs below it): unchecked"
    else:
        verdict = (
            f"fits the lowest {levels[0]:g} down to {levels[-1]:g} (worst {z[worst]:+.1f} standard errors at "
            f"{levels[worst]:g}); {seen} failures seen, {p * len(finite):.3g} expected"
        )
    accepted = len(z) > 0 and abs(z[worst]) <= CHECK_Z and count_p >= COUNT_ALPHA
    return TailCheck(
        name,
        tuple(float(q) for q in levels),
        tuple(float(x) for x in quantiles),
        tuple(float(q * math.exp(d)) for q, d in zip(levels, observed, strict=True)),
        tuple(float(v) for v in z),
        seen,
        p * len(finite),
        count_p,
        accepted,
        verdict,
    )


def _reason(chosen: Estimate | None, tried: Sequence[Estimate], model: str) -> str:
    said = "; ".join(f"{e.model}: {e.check.verdict if e.check else 'unchecked (too few resamples)'}" for e in tried)
    if model != "auto":
        return f"{model} as asked ({said or 'no fit'})"
    if chosen is None:
        return f"no model fits the lower tail ({said or 'none could be fitted'}): plain Monte Carlo's count"
    if chosen.model == NORMAL:
        return f"the transformed normal fits the lower tail: {said}"
    if not any(e.model == NORMAL for e in tried):
        return (
            f"no transformed normal could be fitted (the margins do not spread); the generalized Pareto fits ({said})"
        )
    return f"the transformed normal does not fit the lower tail; the generalized Pareto does ({said})"


def _notes(fit: TailResult, chosen: Estimate | None) -> tuple[str, ...]:
    notes = []
    finite = [m for m in fit.margins if math.isfinite(m)]
    if len(set(finite)) < 0.5 * len(finite):
        notes.append("the margin takes few distinct values: the models assume a continuous margin")
    if fit.method == COUNTED:
        if fit.reason.startswith("failures are common"):
            return (*notes, "failures are at least the tail share: counted, not extrapolated")
        if not fit.checks:
            return (*notes, f"too few resamples to check a model (at least {MIN_CHECK_RESAMPLES}): this is the count")
        relative = math.sqrt((1 - fit.estimate) / (fit.runs * fit.estimate)) if fit.estimate > 0 else math.inf
        notes.append(
            f"no model fits the margin's lower tail: this is plain Monte Carlo's count of {fit.runs} runs (relative "
            f"error {relative:.0%}); run more, or look at the failing runs for a separate mechanism"
        )
        return tuple(notes)
    if chosen is not None and (chosen.check is None or not chosen.check.accepted):
        why = chosen.check.verdict if chosen.check else f"too few resamples to check (at least {MIN_CHECK_RESAMPLES})"
        notes.append(f"the {chosen.model} fit was asked for, but its check does not accept it: {why}")
    if fit.method == NORMAL and chosen is not None and chosen.check is not None and chosen.check.levels:
        deepest = chosen.check.levels[-1]
        if fit.estimate < deepest / 100:
            from scipy.stats import norm

            notes.append(
                f"failure lies at {fit.sigma_level:.2f} sigma but the runs check the model only to "
                f"{-norm.ppf(deepest):.2f} (tail share {deepest:g}): beyond that the normal tail is assumed"
            )
    if fit.method == PARETO:
        notes += _pareto_notes(fit)
    if fit.bootstrap and fit.interval[1] > 10 * max(fit.estimate, 1e-300):
        notes.append("the interval spans more than a factor 10: run more")
    return tuple(notes)


def _pareto_notes(fit: TailResult) -> list[str]:
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
    return notes


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
    model: str = "auto",
) -> TailResult:
    """Run `runs` seeds as `monte_carlo_yield` does and estimate the failure probability from the margins
    (`fit_tail`)."""
    parsed = as_specs(specs)
    seeds, spec_margins = simulate_seeds(
        scenario, parsed, runs, seed, years, overrides, vary, workers, progress, runner
    )
    margins = [least(m) for m in spec_margins]
    fit = fit_tail(margins, tail, confidence, bootstrap, seed, min_exceedances, model)
    return replace(fit, specs=tuple(s.text for s in parsed), seed=seed, seeds=tuple(seeds))
