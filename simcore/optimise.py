"""`optimise`: the scenario's inputs that minimise (or maximise) an outcome over seeds, under a constraint.

The paper's optimisation problem (seed 001, §7.3 "find optimal bonding curve parameters that minimize volatility",
and §9 "optimizing bonding curve parameters") for any scenario: vary some variables within ranges (a component
parameter's bounds by default), run every seed with each trial's values (common random numbers: trials differ only
by their values), and average an objective over the seeds: a variable after the run (an `nvars` key, e.g.
`econ_volatility`) or a function of a run's Result.

A constraint is a feasibility function of the trial's Results (one per seed), answering True/False or a violation
(> 0: infeasible by that much), or `{variable: (low, high)}` on the seeds' mean of variables after the run (either
end None), whose violation is the relative distance outside. With `penalty=None` feasibility comes first: Optuna's
constrained TPE (a trial's violation is its constraint) or, for CMA-ES, ranks that put every feasible trial before
every infeasible one; with a number, the searcher sees the objective worsened by `penalty * violation`. Either way
the best trial is the best feasible one by the bare objective (else the least infeasible), ties to the earlier.

Searchers: `tpe` (Optuna's multivariate TPE) and `cmaes` (the `cmaes` package, on the ranges scaled to [0, 1]),
both seeded by `seed`, so the same call gives the same trials. With `start` the scenario's own values (where they
lie in the ranges) are the first trial, so the answer is never worse than what the scenario had, when that was
feasible. Ranges in `log` are searched in the log of the value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simcore.checks import is_count, is_number, listed
from simcore.engine import Result, ScenarioRef, run
from simcore.errors import SimulationError
from simcore.scenario import load_scenario
from simcore.variables import compute, require_known, with_overrides

if TYPE_CHECKING:
    import pandas as pd

Objective = str | Callable[[Result], float]
Feasibility = Callable[[Sequence[Result]], bool | float]
Constraint = Feasibility | Mapping[str, tuple[float | None, float | None]]
METHODS = ("tpe", "cmaes")
VIOLATION = "violation"  # the user attribute an Optuna trial keeps its constraint's violation in


@dataclass(frozen=True)
class Trial:
    """One evaluated set of values: the objective (the seeds' mean), its violation (0 when feasible) and each seed's
    objective."""

    number: int
    values: dict[str, float]
    objective: float
    violation: float
    per_seed: tuple[float, ...]

    @property
    def feasible(self) -> bool:
        return self.violation <= 0


@dataclass(frozen=True)
class Optimisation:
    """What `optimise` found: the `best` values, the objective there (`value`), whether they are feasible, and
    every trial in order (`history`, as a table by `table()`)."""

    objective: str
    direction: str
    seeds: tuple[int, ...]
    best: dict[str, float]
    value: float
    feasible: bool
    violation: float
    history: list[Trial] = field(repr=False)

    def table(self) -> pd.DataFrame:
        """One row per trial: its number, each varied variable, the objective, the violation and feasibility."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "trial": t.number,
                    **t.values,
                    "objective": t.objective,
                    VIOLATION: t.violation,
                    "feasible": t.feasible,
                }
                for t in self.history
            ]
        ).set_index("trial")

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain data (the history as a list of rows)."""
        return {
            "objective": self.objective,
            "direction": self.direction,
            "seeds": list(self.seeds),
            "best": dict(self.best),
            "value": self.value,
            "feasible": self.feasible,
            VIOLATION: self.violation,
            "history": [
                {"trial": t.number, "values": dict(t.values), "objective": t.objective, VIOLATION: t.violation,
                 "feasible": t.feasible, "per_seed": list(t.per_seed)}
                for t in self.history
            ],
        }  # fmt: skip


@dataclass(frozen=True)
class _Range:
    """A varied variable's range, whether it is searched in its log and whether its values are whole numbers."""

    low: float
    high: float
    log: bool
    integer: bool

    def scaled(self, x: float) -> float:
        """A value from its position in [0, 1] (CMA-ES's coordinates)."""
        x = min(1.0, max(0.0, x))
        value = self.low * (self.high / self.low) ** x if self.log else self.low + x * (self.high - self.low)
        value = min(self.high, max(self.low, value))
        return round(value) if self.integer else value

    def position(self, value: float) -> float:
        """Where a value lies in [0, 1]."""
        if self.log:
            return math.log(value / self.low) / math.log(self.high / self.low)
        return (value - self.low) / (self.high - self.low)


def optimise(
    scenario: ScenarioRef,
    vary: Mapping[str, tuple[float, float] | None],
    objective: Objective,
    direction: str = "min",
    seeds: Sequence[int] = (0,),
    trials: int = 50,
    seed: int = 0,
    *,
    years: float | None = None,
    constraint: Constraint | None = None,
    penalty: float | None = None,
    method: str = "tpe",
    log: Collection[str] = (),
    start: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> Optimisation:
    """The values of `vary`'s variables (each within its `(low, high)`, or None for its component parameter's bounds)
    that give the best mean `objective` over `seeds` (`direction` "min" or "max") in `trials` evaluations, under
    `constraint` (the module doc), calling `progress(done, trials)` after each trial. A SimulationError names any input
    that is wrong; what a run raises is raised."""
    loaded = load_scenario(scenario)
    ranges = _ranges(loaded.variables, vary, log)
    _check(objective, direction, seeds, trials, seed, penalty, method, len(ranges))
    years = loaded.years if years is None else years
    measure = _measure(objective)
    feasibility = _feasibility(constraint)
    sign = 1.0 if direction == "min" else -1.0
    history: list[Trial] = []

    def evaluate(values: dict[str, float]) -> Trial:
        defs = with_overrides(loaded.variables, values)
        results = [run(loaded, defs, years, s) for s in seeds]
        per_seed = tuple(measure(result) for result in results)
        trial = Trial(len(history), values, math.fsum(per_seed) / len(per_seed), feasibility(results), per_seed)
        history.append(trial)
        if progress:
            progress(len(history), trials)
        return trial

    first = _start(loaded.variables, ranges) if start else None
    search = _tpe if method == "tpe" else _cmaes
    search(ranges, evaluate, trials, seed, sign, penalty, first)
    best = min(history, key=lambda t: (not t.feasible, t.violation if not t.feasible else 0.0, sign * t.objective))
    name = objective if isinstance(objective, str) else getattr(objective, "__name__", repr(objective))
    return Optimisation(name, direction, tuple(seeds), best.values, best.objective, best.feasible, best.violation,
                        history)  # fmt: skip


def _ranges(variables: Mapping[str, Any], vary: Mapping[str, Any], log: Collection[str]) -> dict[str, _Range]:
    """Each varied variable's range, checked: a known input, numbers low < high within its bounds (its bounds when
    None), positive ends to be searched in the log."""
    if not isinstance(vary, Mapping) or not vary:
        raise SimulationError("optimise: vary must map at least one variable to (low, high) or None (its bounds)")
    unknown = [name for name in log if name not in vary]
    if unknown:
        raise SimulationError(f"optimise: log names {listed(unknown)}, which vary does not")
    values = compute(variables)
    ranges = {}
    for name, spec in vary.items():
        require_known(name, variables)
        bounds = variables[name].bounds
        if spec is None:
            if bounds is None:
                raise SimulationError(f"optimise: {name!r} is no component's parameter, so it has no bounds: give "
                                      "(low, high)")  # fmt: skip
            low = math.nextafter(bounds.low, math.inf) if bounds.low_open else bounds.low
            high = math.nextafter(bounds.high, -math.inf) if bounds.high_open else bounds.high
        elif isinstance(spec, (tuple, list)) and len(spec) == 2 and all(is_number(x) for x in spec):
            low, high = spec
            if bounds is not None and not (low in bounds and high in bounds):
                raise SimulationError(
                    f"optimise: {name!r} ranges over [{low:g}, {high:g}], outside its bounds {bounds}"
                )
        else:
            raise SimulationError(f"optimise: {name!r} must map to (low, high) or None, got {spec!r}")
        if not low < high:
            raise SimulationError(f"optimise: {name!r} needs low < high, got ({low!r}, {high!r})")
        if name in log and not low > 0:
            raise SimulationError(f"optimise: {name!r} is searched in its log, so its low end must be > 0, got {low!r}")
        integer = type(values.get(name)) is int
        ranges[name] = _Range(float(low), float(high), name in log, integer)
    return ranges


def _check(
    objective: Any, direction: str, seeds: Any, trials: Any, seed: Any, penalty: Any, method: str, count: int
) -> None:
    if not (isinstance(objective, str) or callable(objective)):
        raise SimulationError(f"optimise: objective must be a variable's name or a function of a Result, got "
                              f"{objective!r}")  # fmt: skip
    if direction not in ("min", "max"):
        raise SimulationError(f"optimise: direction must be 'min' or 'max', got {direction!r}")
    if not (isinstance(seeds, (tuple, list, range)) and seeds and all(is_count(s, 0) for s in seeds)):
        raise SimulationError(f"optimise: seeds must be a non-empty list of ints >= 0, got {seeds!r}")
    if not is_count(trials, 1):
        raise SimulationError(f"optimise: trials must be an int >= 1, got {trials!r}")
    if not is_count(seed, 0):
        raise SimulationError(f"optimise: seed must be an int >= 0, got {seed!r}")
    if penalty is not None and not (is_number(penalty) and penalty >= 0):
        raise SimulationError(f"optimise: penalty must be None or a number >= 0, got {penalty!r}")
    if method not in METHODS:
        raise SimulationError(f"optimise: method must be one of {listed(METHODS)}, got {method!r}")
    if method == "cmaes" and count < 2:
        raise SimulationError("optimise: cmaes needs at least two variables to vary; use method='tpe' for one")


def _measure(objective: Objective) -> Callable[[Result], float]:
    """A function of a run's Result giving the objective as a finite number."""

    def measure(result: Result) -> float:
        if isinstance(objective, str):
            if objective not in result.nvars:
                require_known(objective, result.nvars)
            value = result.nvars[objective]
        else:
            value = objective(result)
        if not is_number(value):
            raise SimulationError(f"optimise: the objective is {value!r} after a run, not a finite number")
        return float(value)

    return measure


def _feasibility(constraint: Constraint | None) -> Callable[[Sequence[Result]], float]:
    """The violation of a trial's Results: 0 when feasible, > 0 by how much it is not."""
    if constraint is None:
        return lambda results: 0.0
    if callable(constraint):

        def called(results: Sequence[Result]) -> float:
            answer = constraint(results)
            if isinstance(answer, bool):
                return 0.0 if answer else 1.0
            if not is_number(answer):
                raise SimulationError(f"optimise: the constraint answered {answer!r}; answer a bool or a number")
            return max(0.0, float(answer))

        return called
    if not isinstance(constraint, Mapping):
        raise SimulationError(f"optimise: constraint must be a function or {{variable: (low, high)}}, got "
                              f"{constraint!r}")  # fmt: skip
    for name, ends in constraint.items():
        if not (isinstance(ends, (tuple, list)) and len(ends) == 2 and all(e is None or is_number(e) for e in ends)):
            raise SimulationError(
                f"optimise: the constraint on {name!r} must be (low, high), either None, got {ends!r}"
            )

    def bounded(results: Sequence[Result]) -> float:
        violation = 0.0
        for name, (low, high) in constraint.items():
            values = [r.nvars[name] if name in r.nvars else require_known(name, r.nvars) for r in results]
            if not all(is_number(x) for x in values):
                raise SimulationError(f"optimise: the constraint's {name!r} is not a number after a run: {values!r}")
            mean = math.fsum(values) / len(values)
            if low is not None and mean < low:
                violation += (low - mean) / max(abs(low), 1e-12)
            if high is not None and mean > high:
                violation += (mean - high) / max(abs(high), 1e-12)
        return violation

    return bounded


def _start(variables: Mapping[str, Any], ranges: Mapping[str, _Range]) -> dict[str, float] | None:
    """The scenario's own values of the varied variables, if every one lies in its range."""
    values = compute(variables)
    first = {name: values.get(name) for name in ranges}
    inside = all(is_number(x) and r.low <= x <= r.high for x, r in zip(first.values(), ranges.values(), strict=True))
    return first if inside else None  # type: ignore[return-value]


def _penalised(trial: Trial, sign: float, penalty: float | None) -> float:
    """What a searcher minimises for a trial when a penalty stands in for the constraint."""
    return sign * trial.objective + (penalty or 0.0) * trial.violation


def _tpe(
    ranges: Mapping[str, _Range], evaluate: Callable[[dict[str, float]], Trial], trials: int, seed: int, sign: float,
    penalty: float | None, first: dict[str, float] | None,
) -> None:  # fmt: skip
    """Optuna's multivariate TPE, seeded, asked and told one trial at a time."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from optuna.distributions import FloatDistribution, IntDistribution

    distributions = {
        name: IntDistribution(math.ceil(r.low), math.floor(r.high), log=r.log)
        if r.integer
        else FloatDistribution(r.low, r.high, log=r.log)
        for name, r in ranges.items()
    }
    constrained = penalty is None
    marked = hasattr(optuna.trial.Trial, "set_constraint")  # Optuna 5's way; Optuna 4 reads a constraints_func
    sampler = optuna.samplers.TPESampler(
        seed=seed % 2**32,
        multivariate=True,
        n_startup_trials=min(10, max(2, trials // 4)),
        constraints_func=(lambda t: (t.user_attrs[VIOLATION],)) if constrained and not marked else None,
    )
    study = optuna.create_study(direction="minimize", sampler=sampler)
    if first is not None:
        study.enqueue_trial(first)
    for _ in range(trials):
        asked = study.ask(distributions)
        trial = evaluate({name: asked.params[name] for name in ranges})
        if constrained and marked:
            asked.set_constraint(VIOLATION, trial.violation)
        elif constrained:
            asked.set_user_attr(VIOLATION, trial.violation)
        study.tell(asked, sign * trial.objective if constrained else _penalised(trial, sign, penalty))


def _cmaes(
    ranges: Mapping[str, _Range], evaluate: Callable[[dict[str, float]], Trial], trials: int, seed: int, sign: float,
    penalty: float | None, first: dict[str, float] | None,
) -> None:  # fmt: skip
    """CMA-ES on the ranges scaled to [0, 1], seeded, a generation at a time; what it is told of a generation is each
    trial's rank (feasible first, then by violation, then by objective) or, with a penalty, its penalised objective.
    The last generation may be cut short by the trials left (and is not told)."""
    import numpy as np
    from cmaes import CMA

    names = list(ranges)
    mean = [ranges[n].position(first[n]) if first is not None else 0.5 for n in names]
    optimizer = CMA(mean=np.array(mean), sigma=0.3, bounds=np.array([[0.0, 1.0]] * len(names)), seed=seed % 2**32)
    done = 0
    while done < trials:
        asked = [optimizer.ask() for _ in range(optimizer.population_size)]
        told = []
        for x in asked:
            if done == trials:
                return
            trial = evaluate({n: ranges[n].scaled(float(z)) for n, z in zip(names, x, strict=True)})
            told.append((x, trial))
            done += 1
        if penalty is None:
            order = sorted(range(len(told)), key=lambda k: (
                not told[k][1].feasible, told[k][1].violation, sign * told[k][1].objective))  # fmt: skip
            ranks = {k: float(rank) for rank, k in enumerate(order)}
            optimizer.tell([(told[k][0], ranks[k]) for k in range(len(told))])
        else:
            optimizer.tell([(x, _penalised(trial, sign, penalty)) for x, trial in told])
