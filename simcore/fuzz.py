"""`fuzz`: search variable values for the best outcome, as AI3's fuzz meant to, and more.

Cases come from a grid (every combination, the first variable named being the outer loop), or from
random or Latin-hypercube sampling with a seed. Each case is simulated with the same run seed, so
cases are compared on the same random numbers. Winners are chosen in case order in this process, so
any number of workers gives exactly the same answer as one. A component's parameter is varied within its bounds:
a case given without values (None) takes them, and values outside them are refused (`case_ranges`). The cases run
through a runner with `run_many`'s signature, so another executor (the service's Celery workers) can run them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from simcore.batch import Job, Progress, Runner, run_many
from simcore.checks import is_count, is_number
from simcore.engine import ScenarioRef
from simcore.errors import SimulationError
from simcore.scenario import Scenario, load_scenario
from simcore.variables import Bounds, Variable, require_known

if TYPE_CHECKING:
    import random

    import pandas as pd


Finder = str | Callable[[Any, Any, Mapping[str, Any], Mapping[str, Any]], Any]
SAMPLERS = ("grid", "random", "lhs")
SCALARS = (int, float, str)  # with None, what a case's row holds


@dataclass(frozen=True)
class Span:
    """A range of floats, `start` included and `stop` excluded; the grid needs a `step`, sampling does not."""

    start: float
    stop: float
    step: float | None = None

    def __post_init__(self) -> None:
        bounds = (self.start, self.stop) + ((self.step,) if self.step is not None else ())
        if not all(is_number(x) for x in bounds):
            raise SimulationError(f"a range needs finite numbers, got {self}")
        if self.stop <= self.start or (self.step is not None and self.step <= 0):
            raise SimulationError(f"a range needs start < stop and a positive step, got {self}")

    def values(self) -> list[float]:
        """The grid: start, start + step, ... while below stop (computed by index, so no drift)."""
        if self.step is None:
            raise SimulationError(f"the float range {self.start}:{self.stop} needs a step for a grid")
        count = math.ceil((self.stop - self.start) / self.step - 1e-9)
        return [self.start + k * self.step for k in range(count)]


CaseSpec = range | Span | Sequence[Any]


def case_ranges(
    variables: Mapping[str, Variable], cases: Mapping[str, CaseSpec | None], sample: str = "grid"
) -> dict[str, CaseSpec]:
    """Each case's values, checked against its variable's bounds (a component parameter's): a case without values
    (None) ranges over the bounds (a stepless Span, which `random` and `lhs` sample continuously); values outside
    them are a SimulationError naming the bounds."""
    return {name: _case_range(name, spec, variables, sample) for name, spec in cases.items()}


def _case_range(name: str, spec: CaseSpec | None, variables: Mapping[str, Variable], sample: str) -> CaseSpec:
    require_known(name, variables)
    bounds = variables[name].bounds
    if spec is None:
        if bounds is None:
            raise SimulationError(
                f"{name!r} is no component's parameter, so it has no bounds to range over: give values"
            )
        if sample == "grid":
            raise SimulationError(
                f"{name!r}: a grid needs a step, and its bounds {bounds} have none: give start:stop:step within them, "
                "or sample the bounds with random or lhs"
            )
        return Span(math.nextafter(bounds.low, math.inf) if bounds.low_open else bounds.low, bounds.high)
    if bounds is not None:
        outside = _outside(spec, bounds)
        if outside is not None:
            raise SimulationError(f"{name!r}: {outside} is outside the bounds of this component parameter, {bounds}")
    return spec


def _outside(spec: CaseSpec, bounds: Bounds) -> str | None:
    """What of `spec` lies outside `bounds` (a value, or a stepless Span that starts or reaches out of them), or
    None."""
    if isinstance(spec, Span) and spec.step is None:
        inside = spec.start in bounds and spec.stop <= bounds.high  # its stop is excluded
        return None if inside else f"the range {spec.start:g}:{spec.stop:g}"
    values = spec.values() if isinstance(spec, Span) else spec
    return next((repr(x) for x in values if x not in bounds), None)


@dataclass(frozen=True)
class Winner:
    """The best case for one `find` target: the case, the value found, and that run's `nvars` and `res`."""

    index: int
    case: dict[str, Any]
    value: Any
    nvars: dict[str, Any]
    res: dict[str, Any]


@dataclass(frozen=True)
class FuzzResult:
    """The winners by target and every case with its scalar outcomes."""

    winners: dict[str, Winner]
    cases: list[dict[str, Any]]
    rows: list[dict[str, Any]]

    @property
    def table(self) -> pd.DataFrame:
        """One row per case: the case's variables, then every scalar variable after the run."""
        import pandas as pd

        return pd.DataFrame(self.rows).rename_axis("case")

    def to_dict(self) -> dict[str, Any]:
        """The winners and the case table as plain data."""
        winners = {
            key: {"index": w.index, "case": w.case, "value": w.value, "nvars": w.nvars, "res": w.res}
            for key, w in self.winners.items()
        }
        return {"winners": winners, "cases": self.rows}


def _discrete(name: str, spec: CaseSpec) -> list[Any]:
    values = spec.values() if isinstance(spec, Span) else list(spec)
    if not values:
        raise SimulationError(f"case {name!r} has no values")
    return values


def _draw(name: str, spec: CaseSpec, u: Any) -> list[Any]:
    """Map uniform draws `u` in [0, 1) onto a case's values: continuous for a stepless Span, else by index."""
    if isinstance(spec, Span) and spec.step is None:
        return [spec.start + float(x) * (spec.stop - spec.start) for x in u]
    values = _discrete(name, spec)
    return [values[min(int(x * len(values)), len(values) - 1)] for x in u]


def draw_value(name: str, spec: CaseSpec, rng: random.Random) -> Any:
    """One value of a case drawn with `rng`, as `random` sampling draws it (continuous for a stepless Span)."""
    return _draw(name, spec, [rng.random()])[0]


def make_cases(
    cases: Mapping[str, CaseSpec], sample: str = "grid", samples: int | None = None, seed: int = 0
) -> list[dict[str, Any]]:
    """The list of cases to simulate, each a {variable: value} dict."""
    if not cases:
        raise SimulationError("fuzz needs at least one case variable")
    names = list(cases)
    if sample == "grid":
        grids = [_discrete(name, cases[name]) for name in names]
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*grids)]
    if sample not in SAMPLERS:
        raise SimulationError(f"unknown sampling {sample!r} (expected one of {', '.join(SAMPLERS)})")
    if not is_count(samples, 1):
        raise SimulationError(f"{sample} sampling needs a number of samples >= 1, got {samples!r}")
    if sample == "random":
        import numpy as np

        u = np.random.default_rng(seed).random((samples, len(names)))
    else:
        from scipy.stats import qmc

        u = qmc.LatinHypercube(d=len(names), rng=seed).random(samples)
    columns = [_draw(name, cases[name], u[:, j]) for j, name in enumerate(names)]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _unknown(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)  # None or NaN


def _better(how: Finder, current: Any, new: Any, nvars: Mapping[str, Any], res: Mapping[str, Any]) -> bool:
    """Whether `new` replaces the winner: only a strict improvement, so ties keep the earliest case."""
    if callable(how):
        return bool(how(current, new, nvars, res))
    if new is None or (isinstance(new, float) and new != new):
        return False
    if current is None or (isinstance(current, float) and current != current):
        return True
    return new > current if how == "max" else new < current


def scalars(nvars: Mapping[str, Any]) -> dict[str, Any]:
    """The variables whose values are None, numbers or strings: a case's row, and what a remote runner sends back."""
    return {k: x for k, x in nvars.items() if x is None or isinstance(x, SCALARS)}


def fuzz(
    scenario: ScenarioRef,
    cases: Mapping[str, CaseSpec | None],
    find: Mapping[str, Finder],
    years: float | None = None,
    overrides: Mapping[str, Any] | None = None,
    sample: str = "grid",
    samples: int | None = None,
    seed: int = 0,
    workers: int = 1,
    progress: Progress | None = None,
    runner: Runner = run_many,
) -> FuzzResult:
    """Simulate every case and keep, per `find` target, the best by "max", "min" or a function.

    A find function is called `fn(current, new, nvars, res)` with the current winner's value and returns
    true to replace it. `seed` seeds both the sampling and every run. A case without values (None) ranges over its
    component parameter's bounds (`case_ranges`).

    `runner` runs the cases (`run_many`'s signature). Any other runner need return only each case's `scalars` (its
    `res` is not read): the winners' full `nvars` and `res` are then recomputed here by running their cases again (a
    run depends on its values and seed alone, and a winner whose value comes out different is an error), and find
    functions, which read every case's `nvars` and `res`, are refused with it.
    """
    loaded = load_scenario(scenario)
    for name in [*cases, *find, *(overrides or {})]:
        require_known(name, loaded.variables)
    for key, how in find.items():
        if not callable(how) and how not in ("max", "min"):
            raise SimulationError(f"find {key!r}: expected 'max', 'min' or a function, got {how!r}")
        if callable(how) and runner is not run_many:
            raise SimulationError(
                f"find {key!r}: a find function reads every case's nvars and res, which only run_many returns: use "
                "'max' or 'min', or leave out the runner"
            )
    case_list = make_cases(case_ranges(loaded.variables, cases, sample), sample, samples, seed)
    jobs = [({**overrides, **case} if overrides else case, seed) for case in case_list]
    run_years = loaded.years if years is None else years
    best: dict[str, tuple[int, Any, dict[str, Any], dict[str, Any]]] = {}  # the winners so far, by target
    rows = []
    outcomes = runner(loaded, jobs, run_years, workers, progress)
    for index, (case, (nvars, res)) in enumerate(zip(case_list, outcomes, strict=True)):
        rows.append({**case, **scalars(nvars)})
        for key, how in find.items():
            if key not in nvars:
                raise SimulationError(f"find {key!r}: the runner returned no value of it (not a number or a string?)")
            current = best.get(key)
            if current is None or _better(how, current[1], nvars[key], nvars, res):
                best[key] = (index, nvars[key], nvars, res)
    winners = {
        key: Winner(index, case_list[index], value, nvars, res) for key, (index, value, nvars, res) in best.items()
    }
    if runner is not run_many:
        winners = _rerun(loaded, jobs, run_years, winners)
    return FuzzResult(winners, case_list, rows)


def _rerun(scenario: Scenario, jobs: Sequence[Job], years: float, winners: Mapping[str, Winner]) -> dict[str, Winner]:
    """The winners with their full `nvars` and `res`, from their cases run again here."""
    indexes = sorted({winner.index for winner in winners.values()})
    outcomes = dict(zip(indexes, run_many(scenario, [jobs[i] for i in indexes], years), strict=True))
    for key, winner in winners.items():
        again = outcomes[winner.index][0][key]
        if not (again == winner.value or (_unknown(again) and _unknown(winner.value))):
            raise SimulationError(
                f"find {key!r}: case {winner.index} gave {winner.value!r} on the runner and {again!r} here: the runner "
                "ran another scenario or other values"
            )
    return {key: replace(w, nvars=outcomes[w.index][0], res=outcomes[w.index][1]) for key, w in winners.items()}
