"""Worst-case corners: the combination of parameter levels with the least margin, found by search, not enumeration.

The corners are the product of each varied parameter's levels (`k` evenly over its component bounds, or given
values; `parameters.parameter_levels`). The search is a sequential surrogate: simulate a small space-filling design
(a Latin hypercube over the level indices), fit a quadratic model with every two-way interaction to the corners
simulated so far (least squares in coordinates scaled to [-1, 1]), predict every corner, simulate the predicted worst
not yet simulated, refit, and so on.

It stops when the model is confident: no corner not yet simulated has a lower bound (prediction - `z` x its
prediction error, from the model's leave-one-out residuals and the corner's leverage) below the least margin found;
or at the budget (default: 10 % of the corners); with so few corners that the budget covers them all, it enumerates.
A corner's margin is the mean over `seeds` (common random numbers across corners); a NaN margin (a KPI that is not a
finite number on some seed) ranks worst and is left out of the fit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from simcore.batch import Progress, run_many
from simcore.checks import is_count, is_number
from simcore.engine import ScenarioRef
from simcore.errors import SimulationError
from simcore.scenario import load_scenario
from simcore.verification.parameters import LevelSpec, check_parameters, parameter_levels
from simcore.verification.report import corner_chart, plain
from simcore.verification.runs import Runner, check_seeds, mean_over_seeds, run_margins
from simcore.verification.spec import SpecsLike, as_specs, least

if TYPE_CHECKING:
    import pandas as pd

MAX_CORNERS = 10**6
BUDGET_SHARE = 0.1
CHUNK = 65_536


@dataclass(frozen=True)
class CornerResult:
    """The worst corner found, its margin, the corners simulated in order and why the search stopped."""

    specs: tuple[str, ...]
    levels: dict[str, tuple[float, ...]]
    corners: int  # how many there are
    seeds: tuple[int, ...]
    simulated: tuple[dict[str, float], ...]  # in the order simulated
    margins: tuple[float, ...]  # theirs (mean over the seeds)
    stop: str  # "confident", "budget", "enumerated" or "exhausted"
    residual: float  # the model's leave-one-out RMS error (NaN when enumerated)
    lower_bound: float  # the least lower bound of a corner not simulated (inf when none is left)
    budget: int

    @property
    def simulations(self) -> int:
        """Corners simulated (each on every seed)."""
        return len(self.simulated)

    @property
    def runs(self) -> int:
        """Simulations run: corners simulated x seeds."""
        return self.simulations * len(self.seeds)

    @property
    def ranking(self) -> list[tuple[dict[str, float], float]]:
        """The simulated corners, worst first (NaN margins first of all)."""
        order = sorted(range(self.simulations), key=lambda j: (not math.isnan(self.margins[j]), self.margins[j]))
        return [(self.simulated[j], self.margins[j]) for j in order]

    @property
    def worst(self) -> dict[str, float]:
        return self.ranking[0][0]

    @property
    def worst_margin(self) -> float:
        return self.ranking[0][1]

    @property
    def found_at(self) -> int:
        """The simulation (counted from 1) that found the worst corner."""
        return self.simulated.index(self.worst) + 1

    @property
    def table(self) -> pd.DataFrame:
        """The simulated corners worst first: rank, the parameters, margin and when each was simulated."""
        import pandas as pd

        order = {id(corner): j + 1 for j, corner in enumerate(self.simulated)}
        rows = [
            {"rank": r + 1, **corner, "margin": m, "simulation": order[id(corner)]}
            for r, (corner, m) in enumerate(self.ranking)
        ]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """The search's summary and ranking, as plain JSON data."""
        return plain(
            {
                "specs": self.specs,
                "levels": self.levels,
                "corners": self.corners,
                "seeds": self.seeds,
                "worst": self.worst,
                "worst_margin": self.worst_margin,
                "found_at": self.found_at,
                "simulations": self.simulations,
                "runs": self.runs,
                "budget": self.budget,
                "stop": self.stop,
                "residual": self.residual,
                "lower_bound": self.lower_bound,
                "ranking": [{"corner": c, "margin": m} for c, m in self.ranking],
            }
        )

    def chart(self, target: str | Path | BinaryIO) -> None:
        """A PNG: each corner's margin in simulation order with the least so far, and the worst corners as bars."""
        label = ", ".join(f"{k}={v:g}" for k, v in self.worst.items())
        title = f"worst corner {label}: margin {self.worst_margin:.4g}\n({self.simulations} of {self.corners} corners)"
        ranking = [(", ".join(f"{k}={v:g}" for k, v in c.items()), m) for c, m in self.ranking]
        corner_chart(target, self.margins, ranking, title)


class _Surrogate:
    """A quadratic model with two-way interactions over the corners' scaled coordinates."""

    def __init__(self, grids: Sequence[Sequence[float]]) -> None:
        self.grids = [np.asarray(g, dtype=float) for g in grids]
        self.shape = tuple(len(g) for g in grids)
        self.scaled = [self._scale(g) for g in self.grids]

    @staticmethod
    def _scale(values: np.ndarray) -> np.ndarray:
        low, high = values.min(), values.max()
        return np.zeros_like(values) if high == low else 2 * (values - low) / (high - low) - 1

    def features(self, flat: np.ndarray) -> np.ndarray:
        index = np.unravel_index(flat, self.shape)
        x = [scaled[i] for scaled, i in zip(self.scaled, index, strict=True)]
        columns = [np.ones(len(flat)), *x]
        columns += [xj * xj for xj, k in zip(x, self.shape, strict=True) if k >= 3]
        columns += [x[i] * x[j] for i in range(len(x)) for j in range(i + 1, len(x))]
        return np.column_stack(columns)

    def fit(self, flat: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """(coefficients, (F'F)^+, leave-one-out RMS error) from the corners `flat` with margins `y`."""
        f = self.features(flat)
        inverse = np.linalg.pinv(f.T @ f)
        beta = inverse @ f.T @ y
        leverage = np.einsum("ij,jk,ik->i", f, inverse, f)
        keep = leverage < 1 - 1e-9
        loo = (y - f @ beta)[keep] / (1 - leverage[keep])
        rmse = float(np.sqrt(np.mean(loo**2))) if keep.any() else math.inf
        return beta, inverse, rmse

    def scan(self, beta: np.ndarray, inverse: np.ndarray, rmse: float, z: float, done: np.ndarray) -> tuple[int, float]:
        """(the corner not yet simulated with the least prediction, the least lower bound of those corners), read in
        chunks so a million corners need little memory."""
        pick, best, bound = -1, math.inf, math.inf
        for start in range(0, len(done), CHUNK):
            flat = np.arange(start, min(start + CHUNK, len(done)))
            open_ = ~done[flat]
            if not open_.any():
                continue
            features = self.features(flat[open_])
            predicted = features @ beta
            error = rmse * np.sqrt(1 + np.einsum("ij,jk,ik->i", features, inverse, features))
            j = int(np.argmin(predicted))
            if predicted[j] < best:
                pick, best = int(flat[open_][j]), float(predicted[j])
            bound = min(bound, float(np.min(predicted - z * error)))
        return pick, bound


def worst_corner(
    scenario: ScenarioRef,
    specs: SpecsLike,
    params: Mapping[str, LevelSpec],
    levels: int = 3,
    seeds: Sequence[int] = (0,),
    years: float | None = None,
    overrides: Mapping[str, Any] | None = None,
    budget: int | None = None,
    initial: int | None = None,
    z: float = 2.0,
    seed: int = 0,
    workers: int = 1,
    progress: Progress | None = None,
    runner: Runner = run_many,
) -> CornerResult:
    """The corner of `params`' levels with the least margin, by the search in the module doc.

    `params` maps each varied variable to its levels (values, a number of levels over its bounds, or None for
    `levels`). `budget` caps the corners simulated (default: 10 % of them, at least the initial design and as many
    more); `initial` sizes the initial design (default: the model's terms + parameters + 1); `z` is how many
    prediction errors below its prediction a corner must be able to lie to keep the search going; `seed` draws the
    initial design; each corner runs on every one of `seeds`.
    """
    parsed = as_specs(specs)
    loaded = load_scenario(scenario)
    overrides = dict(overrides or {})
    check_parameters(loaded.variables, list(params), overrides)
    grids = parameter_levels(loaded.variables, params, levels)
    run_seeds = check_seeds(seeds)
    if not is_number(z) or z < 0:
        raise SimulationError(f"z must be a finite number >= 0, got {z!r}")
    names = list(grids)
    model = _Surrogate([grids[n] for n in names])
    count = math.prod(model.shape)
    if count > MAX_CORNERS:
        raise SimulationError(f"{count:,} corners are more than {MAX_CORNERS:,}: use fewer levels or parameters")
    for name, value in (("budget", budget), ("initial", initial)):
        if value is not None and not is_count(value, 1):
            raise SimulationError(f"{name} must be a whole number >= 1, got {value!r}")
    terms = model.features(np.zeros(1, dtype=np.int64)).shape[1]
    n0 = min(count, initial if initial is not None else terms + len(names) + 1)
    cap = min(count, budget if budget is not None else max(math.ceil(BUDGET_SHARE * count), n0 + terms))
    n0 = min(n0, cap)
    span = loaded.years if years is None else years

    order: list[int] = []
    margins: list[float] = []

    def simulate(flat: Sequence[int]) -> None:
        corners = [_corner(names, grids, model.shape, f) for f in flat]
        jobs = [({**overrides, **c}, s) for c in corners for s in run_seeds]
        per_job = [least(m) for m in run_margins(loaded, parsed, jobs, span, workers, progress, runner)]
        order.extend(flat)
        margins.extend(mean_over_seeds(per_job, len(run_seeds)))

    result = {"stop": "enumerated", "residual": math.nan, "lower_bound": math.inf}
    if cap >= count:
        simulate(list(range(count)))
    else:
        simulate(_design(model.shape, n0, seed))
        result = _search(model, order, margins, simulate, cap, z, count)
    levels_out = {n: tuple(grids[n]) for n in names}
    simulated = tuple(_corner(names, grids, model.shape, f) for f in order)
    texts = tuple(s.text for s in parsed)
    search = (result["stop"], result["residual"], result["lower_bound"], cap)
    return CornerResult(texts, levels_out, count, run_seeds, simulated, tuple(margins), *search)


def _search(
    model: _Surrogate, order: list[int], margins: list[float], simulate: Any, cap: int, z: float, count: int
) -> dict[str, Any]:
    """Refit, predict and simulate the predicted worst corner until confident, at the cap or out of corners."""
    rmse, bound = math.inf, -math.inf
    while len(order) < count:
        done = np.zeros(count, dtype=bool)
        done[order] = True
        values = np.array(margins)
        finite = np.isfinite(values)
        pick = int(np.flatnonzero(~done)[0])  # with fewer than two finite margins there is nothing to fit
        if finite.sum() >= 2:
            beta, inverse, rmse = model.fit(np.array(order)[finite], values[finite])
            pick, bound = model.scan(beta, inverse, rmse, z, done)
            if bound >= float(values[finite].min()):
                return {"stop": "confident", "residual": rmse, "lower_bound": bound}
        if len(order) >= cap:
            return {"stop": "budget", "residual": rmse, "lower_bound": bound}
        simulate([pick])
    return {"stop": "exhausted", "residual": rmse, "lower_bound": math.inf}


def _design(shape: tuple[int, ...], n: int, seed: int) -> list[int]:
    """`n` distinct corners (flat indices) spread over the grid: a Latin hypercube over the level indices, topped up
    with seeded random corners where it repeats one."""
    from scipy.stats import qmc

    u = qmc.LatinHypercube(d=len(shape), rng=seed).random(n)
    index = [np.minimum((u[:, j] * k).astype(int), k - 1) for j, k in enumerate(shape)]
    flat = list(dict.fromkeys(int(f) for f in np.ravel_multi_index(index, shape)))
    rng = np.random.default_rng(seed)
    count = math.prod(shape)
    while len(flat) < n:
        extra = int(rng.integers(count))
        if extra not in flat:
            flat.append(extra)
    return flat


def _corner(names: Sequence[str], grids: Mapping[str, Sequence[float]], shape: tuple[int, ...], flat: int) -> dict:
    index = np.unravel_index(flat, shape)
    return {name: grids[name][int(i)] for name, i in zip(names, index, strict=True)}
