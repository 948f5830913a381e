"""Tuning a player's constants within its structure: what `local:gp` does between changes of structure.

A program's *skeleton* is its code with its tunable numeric constants (its *parameters*, see
`mutation.parameters`) blanked: two programs with the same skeleton differ in their parameters only. Every
candidate a job evaluated is a *trial* of its skeleton, and the tuner proposes the next parameters from a
skeleton's trials (parameters and training score), so each of its proposals is one more evaluation of the job,
counted in its budget like any other. It keeps no state: the same trials and seed give the same proposal.

The first `warm_up` trials of a skeleton are proposed by Optuna's TPE sampler over ranges around the skeleton's
first parameters (a global search); after that, by a (1+1) evolution strategy around the best trial, whose step
is replayed from the trials (doubled after a trial that improved on the best so far, shrunk after one that did
not), so a search that has found the right region narrows in on an edge (a price just at a bot's threshold)
as far as the floats allow.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import math
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING

from evolver.providers.mutation import FIXED, parameters

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

Trial = tuple[tuple[float, ...], float]  # a skeleton's parameters and the training score they made

SPAN = 3.0  # a float parameter's global range: [first / SPAN, first * SPAN] (log-uniform)
STEP, MAX_STEP, MIN_STEP = 0.1, 0.5, 1e-9  # the local step: log-normal sigma, start and bounds
GROW, SHRINK = 2.0, 0.8
RESTART = 8  # after this many trials per parameter without a better one, the step starts over at its largest
DIGITS = 12  # significant digits a tuned float keeps in the code


def skeleton(tree: ast.Module) -> str:
    """The digest of the program with its parameters blanked (their types kept: an int stays a different slot)."""
    blank = copy.deepcopy(tree)
    for node in parameters(blank):
        node.value = "int" if type(node.value) is int else "float"
    return hashlib.sha256(ast.dump(blank).encode()).hexdigest()


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
            written = float(f"{value:.{DIGITS}g}")
            if written in FIXED:
                written = written * (1 + 10 ** (1 - DIGITS)) or 10.0**-DIGITS
        node.value = written


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
    """A (1+1)-ES step from the best trial, its sigma replayed over the trials after the warm-up."""
    sign = 1.0 if direction == "max" else -1.0
    start = warm_up(len(first))
    best, best_score = max(trials[:start], key=lambda trial: sign * trial[1])
    sigma, failures = STEP, 0
    for params, score in trials[start:]:
        if sign * score > sign * best_score:
            best, best_score, sigma, failures = params, score, min(sigma * GROW, MAX_STEP), 0
        else:
            failures += 1
            sigma = MAX_STEP if failures % (RESTART * len(first)) == 0 else max(sigma * SHRINK, MIN_STEP)
    rng = random.Random(seed)
    tried = {params for params, _ in trials}
    for _ in range(20):
        proposal = _step(best, sigma, rng)
        if proposal not in tried:
            return proposal
        sigma = min(sigma * GROW, MAX_STEP)
    return proposal


def _step(best: Sequence[float], sigma: float, rng: random.Random) -> tuple[float, ...]:
    """`best` with one parameter (or, one time in four, each) moved by log-normal noise of `sigma`."""
    moved = range(len(best)) if rng.random() < 0.25 else [rng.randrange(len(best))]
    proposal = list(best)
    for k in moved:
        value = best[k]
        if type(value) is int:
            shift = round(rng.gauss(0, max(1.0, sigma * abs(value))))
            proposal[k] = value + (shift or rng.choice((-1, 1)))
            if value > 0:
                proposal[k] = max(2, proposal[k])
        else:
            proposal[k] = value * math.exp(rng.gauss(0, sigma))
    return tuple(proposal)
