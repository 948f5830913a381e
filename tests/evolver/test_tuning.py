"""The tuner (evolver/tuning.py): skeletons, parameters, and proposals from a skeleton's trials."""

from __future__ import annotations

import ast
import math

import pytest

from evolver.engine import Engine
from evolver.job import JobSpec
from evolver.settings import Settings
from evolver.store import Store
from evolver.syntax import parse
from evolver.tuning import set_values, skeleton, suggest, values, warm_up
from sandbox import SandboxPool

PLAYER = """
def fn(i, v, r, s, p):
    if v['price'] < 0.75 and i % 3 == 0:
        p['dex'].buyA(max(2.5, 0.01))
    elif v['price'] > 1.25:
        p['dex'].sellA(1)
    return 0
"""


def test_a_skeleton_is_the_code_without_its_parameters() -> None:
    tree = parse(PLAYER)
    assert sorted(values(tree)) == [0.75, 1.25, 2.5, 3]
    retuned = parse(PLAYER.replace("0.75", "0.5").replace("% 3", "% 7"))
    assert skeleton(retuned) == skeleton(tree)
    assert skeleton(parse(PLAYER.replace("<", "<="))) != skeleton(tree)  # a change of structure
    assert skeleton(parse(PLAYER.replace("% 3", "% 3.0"))) != skeleton(tree)  # an int's slot is not a float's
    # zeros, ones and the trade floor are arithmetic, not parameters
    assert {0, 1, 0.01}.isdisjoint(values(tree))


def test_set_values_writes_ints_as_ints_and_round_trips() -> None:
    tree = parse(PLAYER)
    new = tuple(value * 2 + 0.4 for value in values(tree))
    set_values(tree, new)
    again = parse(ast.unparse(tree))
    assert skeleton(again) == skeleton(parse(PLAYER))
    for old, written in zip(values(parse(PLAYER)), values(again), strict=True):
        assert type(written) is type(old)
        assert written == (round(old * 2 + 0.4) if type(old) is int else pytest.approx(old * 2 + 0.4))


def objective(params: tuple[float, ...]) -> float:
    """A cliff: rises towards x = 1 from below, falls off past it; y best at 7."""
    x, y = params
    return (x if x <= 1 else -x) - abs(y - 7) / 10


def test_suggestions_are_deterministic_and_climb_to_an_edge() -> None:
    first = (0.6, 4)
    trials: list[tuple[tuple[float, ...], float]] = [(first, objective(first))]
    for n in range(120):
        proposal = suggest(first, trials, "max", seed=n)
        assert proposal == suggest(first, list(trials), "max", seed=n)  # stateless: the same trials, the same ask
        assert type(proposal[1]) is int
        if len(trials) < warm_up(2):  # the global search stays in its ranges
            assert first[0] / 3 <= proposal[0] <= first[0] * 3 and 2 <= proposal[1] <= 10
        trials.append((proposal, objective(proposal)))
    best = max(trials, key=lambda trial: trial[1])
    assert 0.98 < best[0][0] <= 1 and best[0][1] == 7, best


def test_minimising_climbs_down() -> None:
    first = (5.0,)
    trials: list[tuple[tuple[float, ...], float]] = [(first, 25.0)]
    for n in range(60):
        proposal = suggest(first, trials, "min", seed=n)
        trials.append((proposal, (proposal[0] - 3) ** 2))
    assert math.isclose(min(score for _, score in trials), 0, abs_tol=1e-3)


def test_every_tuning_is_an_evaluated_candidate_of_its_parents_skeleton(store: Store, pool: SandboxPool) -> None:
    """The tuner's proposals are the job's own tries: counted in its generations, stored, and built on the trials
    of the parent's skeleton that the store held before the try's phase."""
    spec = JobSpec(scenario="ai3_plugins", generations=24, attempts=1, seed=3, heldout=())
    job_id = Engine(store, Settings(), pool).execute(spec)
    lineage = store.lineage(job_id)
    assert len(lineage) == 24  # one evaluation a generation, tunings included
    by_id = {candidate.id: candidate for candidate in lineage}
    tuned = [candidate for candidate in lineage if candidate.op == "tune"]
    assert len(tuned) >= 8
    for candidate in tuned:
        parent = by_id[candidate.parent_id]  # type: ignore[index]
        mine, theirs = parse(candidate.code), parse(parent.code)
        assert candidate.skeleton == parent.skeleton == skeleton(mine) == skeleton(theirs)  # as stored
        assert values(mine) != values(theirs)
        assert [row.heldout for row in store.evaluations(candidate.id)] == [False]
        earlier = store.trials(job_id, "local:gp", skeleton(theirs), candidate.generation)
        assert parent.id in [candidate_id for candidate_id, _, _ in earlier]
        assert all(by_id[candidate_id].generation < candidate.generation for candidate_id, _, _ in earlier)
