"""Tuning a player's constants within its structure: what `local:gp` does between changes of structure.

A program's *skeleton* is its code with its tunable numeric constants (its *parameters*, see
`mutation.parameters`) blanked: two programs with the same skeleton differ in their parameters only. Every
candidate a job evaluated is a *trial* of its skeleton, and the tuner proposes the next parameters from a
skeleton's trials (parameters and training score), so each of its proposals is one more evaluation of the job,
counted in its budget like any other. It keeps no state: the same trials and seed give the same proposal.

The first `warm_up` trials of a skeleton are proposed by Optuna's TPE sampler over ranges around the skeleton's
first parameters (a global search); after that, by CMA-ES (the `cmaes` package) started at the best of those, in
the log of each parameter's magnitude, so it learns which parameters move together (a band's level and width) and
narrows in on an edge (a price just at a bot's threshold). CMA-ES keeps a state; it is rebuilt on every call by
replaying it: with its own fixed seed it asks the same points again, each answered by the trial that evaluated it,
until it asks one no trial answers: that is the proposal.
"""

from __future__ import annotations

import ast
import hashlib
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from evolver.providers.mutation import FIXED, parameters

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

Trial = tuple[tuple[float, ...], float]  # a skeleton's parameters and the training score they made

SPAN = 3.0  # a float parameter's global range: [first / SPAN, first * SPAN] (log-uniform)
SIGMA = 0.3  # CMA-ES's first step, in the log of each parameter's magnitude
DIGITS = 12  # significant digits a tuned float keeps in the code


def skeleton(tree: ast.Module) -> str:
    """The digest of the program with its parameters blanked (their types kept: an int stays a different slot). The
    tree is blanked in place while it is dumped, then given its values back."""
    nodes = parameters(tree)
    kept = [node.value for node in nodes]
    for node in nodes:
        node.value = "int" if type(node.value) is int else "float"
    try:
        return hashlib.sha256(ast.dump(tree).encode()).hexdigest()
    finally:
        for node, value in zip(nodes, kept, strict=True):
            node.value = value


def values(tree: ast.Module) -> tuple[float, ...]:
    """The program's parameters, in the order `set_values` writes them."""
    return tuple(node.value for node in parameters(tree))


def set_values(tree: ast.Module, new: Sequence[float]) -> None:
    """Writes `new` into the program's parameters (in place), ints as ints, floats to DIGITS significant digits; a
    value that would not be a parameter (a zero, a one, the trade floor) is moved off it, so the skeleton stays."""
    for node, value in zip(parameters(tree), new, strict=True):
        if type(node.value) is int:
            written: float = round(value)
            if written in (0, 1, -1):
                written = 2 if value > 0 else -2
        else:
            written = _written(value)
        node.value = written


def _written(value: float) -> float:
    """A float parameter as the code keeps it: DIGITS significant digits, and off the numbers that are not
    parameters."""
    written = float(f"{value:.{DIGITS}g}")
    return written * (1 + 10 ** (1 - DIGITS)) or 10.0**-DIGITS if written in FIXED else written


def warm_up(dimensions: int) -> int:
    """How many trials of a skeleton the global search proposes before the local one takes over."""
    return max(8, 3 * dimensions)


def suggest(first: Sequence[float], trials: Sequence[Trial], direction: str, seed: int) -> tuple[float, ...]:
    """The next parameters to try: `first` are the skeleton's first trial's (its ranges), `trials` every trial so far
    in the order they were made; `direction` "max" or "min"."""
    if len(trials) < warm_up(len(first)):
        return _global(first, trials, direction, seed)
    return _local(first, trials, direction, seed)


def _ranges(first: Sequence[float]) -> list[BaseDistribution]:
    """Each parameter's global range: an int's from half to twice it (away from zero), a float's magnitude's
    log-uniform within a factor SPAN of it (its sign is kept)."""
    from optuna.distributions import FloatDistribution, IntDistribution

    ranges: list[BaseDistribution] = []
    for value in first:
        if type(value) is int:
            low = max(2, value // 2) if value > 0 else 2 * value - 2
            high = 2 * value + 2 if value > 0 else min(-1, value // 2)
            ranges.append(IntDistribution(low, high))
        else:
            ranges.append(FloatDistribution(abs(value) / SPAN, abs(value) * SPAN, log=True))
    return ranges


def _global(first: Sequence[float], trials: Sequence[Trial], direction: str, seed: int) -> tuple[float, ...]:
    """Optuna's TPE, told every trial within the ranges, asked for one more."""
    import optuna  # here: it takes a while to import, and only this needs it

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    ranges = _ranges(first)
    names = [f"p{k}" for k in range(len(first))]
    sampler = optuna.samplers.TPESampler(seed=seed % 2**32, n_startup_trials=4, multivariate=True)
    study = optuna.create_study(direction="maximize" if direction == "max" else "minimize", sampler=sampler)
    for params, score in trials:
        magnitudes = [abs(v) if type(f) is float else v for v, f in zip(params, first, strict=True)]
        if math.isfinite(score) and all(_contains(r, v) for r, v in zip(ranges, magnitudes, strict=True)):
            distributions = dict(zip(names, ranges, strict=True))
            study.add_trial(optuna.trial.create_trial(params=dict(zip(names, magnitudes, strict=True)),
                                                      distributions=distributions, value=score))  # fmt: skip
    asked = study.ask(dict(zip(names, ranges, strict=True))).params
    return tuple(_signed(asked[name], value) for name, value in zip(names, first, strict=True))


def _contains(distribution: BaseDistribution, value: float) -> bool:
    low, high = distribution.low, distribution.high  # type: ignore[attr-defined]
    return low <= value <= high


def _signed(magnitude: float, first: float) -> float:
    return magnitude if type(first) is int or first > 0 else -magnitude


def _local(first: Sequence[float], trials: Sequence[Trial], direction: str, seed: int) -> tuple[float, ...]:
    """CMA-ES from the best trial of the warm-up, replayed: its asks are the same every time (its own seed), each
    answered from the trials, and the first it asks that no trial answers is the proposal (one of them, by `seed`,
    when a generation has several)."""
    from cmaes import CMA

    sign = 1.0 if direction == "max" else -1.0
    start = warm_up(len(first))
    best = max(trials[:start], key=lambda trial: sign * trial[1])[0]
    answers = dict(trials)
    optimizer = CMA(mean=np.array([_encode(v) for v in best]), sigma=SIGMA, seed=0)
    while True:
        asked = [optimizer.ask() for _ in range(optimizer.population_size)]
        decoded = [_decode(x, best) for x in asked]
        open_ = [params for params in decoded if params not in answers]
        if open_:
            return open_[seed % len(open_)]
        optimizer.tell([(x, -sign * answers[params]) for x, params in zip(asked, decoded, strict=True)])


def _encode(value: float) -> float:
    return math.log(abs(value)) if value else 0.0


def _decode(x: Sequence[float], like: Sequence[float]) -> tuple[float, ...]:
    decoded = []
    for z, value in zip(x, like, strict=True):
        magnitude = math.exp(min(max(z, -700.0), 700.0))
        if type(value) is int:
            decoded.append(max(2, round(magnitude)) if value > 0 else min(-2, -round(magnitude)))
        else:
            decoded.append(_written(magnitude if value > 0 else -magnitude))
    return tuple(decoded)
