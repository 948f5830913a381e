"""The selection policy (evolver/selection.py) and the plan's use of it: parents and inspirations from an archive."""

from __future__ import annotations

import random

import simcore
from evolver.comp import parse_comp
from evolver.plan import Player, plan
from evolver.selection import EXPLOIT, Archive, choose, descriptor
from evolver.store import PlanRow

COMP = parse_comp("usdc", simcore.load_scenario("ai3_plugins"))


def player(id_: int, score: float, actions: float, refused: float = 0.0) -> Player:
    return Player(id_, "local:gp", {"usdc": score, "actions": actions, "refused": refused}, score)


def test_descriptors_bin_actions_by_powers_of_four_and_refusals_by_quarters() -> None:
    assert descriptor({"actions": 0, "refused": 0}) == (0, 0)
    assert descriptor({"actions": 3, "refused": 1}) == (1, 1)
    assert descriptor({"actions": 4, "refused": 0}) == (2, 0)
    assert descriptor({"actions": 300, "refused": 300}) == (5, 2)
    assert descriptor({"actions": 0, "refused": 9}) == (0, 3)
    assert descriptor({}) == (0, 0)  # a comp's metrics without counts: one cell


def test_the_archive_keeps_the_best_of_each_cell() -> None:
    archive = Archive(COMP)
    for candidate in (player(1, 60, 10), player(2, 70, 12), player(3, 65, 11), player(4, 55, 200)):
        archive.add(candidate)
    assert [elite.id for elite in archive.ranked()] == [2, 4]


def test_a_lone_elite_is_always_the_parent() -> None:
    archive = Archive(COMP)
    archive.add(best := player(1, 60, 10))
    choices = [choose(archive, best, random.Random(seed)) for seed in range(20)]
    assert all(choice.parent == best for choice in choices)
    assert all(choice.inspirations == () and "best" in choice.why for choice in choices)


def test_parents_are_the_best_or_other_elites_with_inspirations_from_other_cells() -> None:
    archive = Archive(COMP)
    players = [player(1, 90, 10), player(2, 80, 100), player(3, 70, 1000), player(4, 60, 0)]
    for candidate in players:
        archive.add(candidate)
    choices = [choose(archive, players[0], random.Random(seed)) for seed in range(400)]
    best_share = sum(choice.parent == players[0] for choice in choices) / len(choices)
    assert EXPLOIT < best_share < 1  # the best also wins some of the archive's draws
    assert {choice.parent.id for choice in choices if choice.parent} == {1, 2, 3, 4}
    for choice in choices:
        assert choice.parent is not None and choice.parent.id not in choice.inspirations
        assert len(choice.inspirations) == 3 and choice.why
    beat = choose(archive, players[1], random.Random(0), explore=False)
    assert beat.parent == players[1] and beat.inspirations == (1, 3, 4)


def row(id_: int, phase: int, score: float, actions: float) -> PlanRow:
    return PlanRow(
        id=id_, key=f"1:{phase}:local:gp:0", model_id="local:gp", generation=phase, status="ok", score=score,
        metrics={"usdc": score, "actions": actions, "refused": 0.0}, improved=phase == 0, has_code=True, cost=0.0,
    )  # fmt: skip


def test_the_plan_stores_why_and_the_inspirations_in_its_steps() -> None:
    rows = [row(1, 0, 60, 10), row(2, 1, 55, 100), row(3, 2, 50, 1000)]
    steps = []
    for seed in range(30):
        current = plan(job_id=1, kind="evolve", models=("local:gp",), comp=COMP, seed=seed, attempts=1, length=10,
                       candidates=rows)  # fmt: skip
        assert current.phase == 3
        steps += current.steps
    assert all(step.op == "improve" and step.why for step in steps)
    assert {step.parent_id for step in steps} == {1, 2, 3}
    for step in steps:
        assert step.reference_id == step.parent_id and step.parent_id not in step.inspirations
    again = plan(job_id=1, kind="evolve", models=("local:gp",), comp=COMP, seed=0, attempts=1, length=10,
                 candidates=rows)  # fmt: skip
    assert again.steps == plan(job_id=1, kind="evolve", models=("local:gp",), comp=COMP, seed=0, attempts=1,
                               length=10, candidates=list(reversed(rows))).steps  # fmt: skip
