"""Arena tournaments: challenges played head to head, each round's market of the champions, and their ratings.

In an arena (a slot of several seats) a beat outscores its target only playing against it, in the same runs; a
tournament ends every round with the models' champions trading in one market (or in every group of as many as
there are seats), and rates the models over those markets. Everything is checked against the sandbox played
directly, so the engine cannot score a match any other way than the match was played.
"""

from __future__ import annotations

import itertools

import pytest
from typer.testing import CliRunner

from evolver.cli import app
from evolver.comp import IMPROVED, parse_comp
from evolver.engine import Engine
from evolver.job import JobSpec
from evolver.plan import plan, round_of
from evolver.settings import Settings
from evolver.store import Store
from evolver.tournament import bradley_terry, leaderboard, outcomes
from simcore import load_scenario, simulate

MODELS = ("local:gp", "local:random")
SEEDS = (0, 1)
YEARS = 0.3


def tournament(store: Store, pool, scenario: str = "arena", models=MODELS, rounds: int = 2) -> int:
    spec = JobSpec(kind="tournament", scenario=scenario, models=models, rounds=rounds, attempts=1, seeds=SEEDS,
                   heldout=(), years=YEARS)  # fmt: skip
    return Engine(store, Settings(broker_url=None), pool).execute(spec)


@pytest.fixture(scope="module")
def played(tmp_path_factory, pool) -> tuple[Store, int]:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('arena') / 'lineage.db'}")
    store.upgrade()
    return store, tournament(store, pool)


def test_an_arena_tournament_has_a_market_phase_each_round(played) -> None:
    store, job_id = played
    job = store.job(job_id)
    assert job.status == "done" and job.budget["arena"] is True
    assert JobSpec.from_row(job).phases == 1 + 3 * 2
    markets = store.markets(job_id)
    assert [market.round for market in markets] == [1, 2]
    assert all(market.models == list(MODELS) and market.seeds == list(SEEDS) for market in markets)
    assert {c.generation for c in store.lineage(job_id)} == {0, 1, 2, 4, 5}  # phases 3 and 6 are markets


def test_a_market_plays_the_champions_of_its_round(played, pool) -> None:
    store, job_id = played
    job = store.job(job_id)
    comp = parse_comp(job.comp, load_scenario("arena"))
    for market in store.markets(job_id):
        codes = [store.candidate(candidate_id).code for candidate_id in market.candidate_ids]
        match = pool.evaluate_match(codes, "arena", SEEDS, YEARS)
        assert market.scores == [comp.score(seat.metrics) for seat in match.seats]
        assert market.per_seed == [[comp.score(m) for m in seat.per_seed] for seat in match.seats]
        champions = [store.candidate(candidate_id) for candidate_id in market.candidate_ids]
        assert all(c.generation < 3 * market.round for c in champions)  # chosen before the market's phase


def test_a_beat_in_an_arena_is_won_by_outscoring_the_target_in_the_same_runs(played, pool) -> None:
    store, job_id = played
    comp = parse_comp(store.job(job_id).comp, load_scenario("arena"))
    tries = [c for c in store.lineage(job_id) if c.target_id is not None and c.status == "ok"]
    assert tries
    for candidate in tries:
        target = store.candidate(candidate.target_id)
        mine, theirs = pool.evaluate_match([candidate.code, target.code], "arena", SEEDS, YEARS).seats
        assert candidate.versus_score == comp.score(mine.metrics)
        assert candidate.versus_target_score == comp.score(theirs.metrics)
        assert candidate.improved == (comp.compare(theirs.metrics, mine.metrics) == IMPROVED)
    for match in store.matches(job_id):
        challenger = store.candidate(match.challenger_candidate_id)
        assert (match.challenger_score, match.defender_score) == (
            challenger.versus_score, challenger.versus_target_score,
        )  # fmt: skip


def test_the_leaderboard_rates_the_markets(played) -> None:
    store, job_id = played
    board = leaderboard(store, job_id)
    assert set(board.columns) >= {"rating", "bt", "wins", "losses", "matches"}
    markets = store.markets(job_id)
    assert board["matches"].tolist() == [len(markets)] * 2
    games = [result for market in markets for result in outcomes(market, "max")]
    for row in board.to_dict("records"):
        mine = [x if a == row["model"] else 1 - x for a, b, x in games if row["model"] in (a, b)]
        assert (row["wins"], row["losses"]) == (mine.count(1.0), mine.count(0.0))
    status = CliRunner().invoke(app, ["status", str(job_id)], env={"EVOLVER_DATABASE_URL": store.url})
    assert status.exit_code == 0 and "markets" in status.output and "bt" in status.output


def test_outcomes_of_a_market_every_pair_in_seat_order() -> None:
    from datetime import UTC, datetime

    from evolver.store import MarketRow

    market = MarketRow(1, "k", 1, 1, ["a", "b", "c", "d"], [1, 2, 3, 4], [0], ["ok"] * 4, [5.0, 7.0, None, 5.0],
                       [[5.0], [7.0], [None], [5.0]], datetime.now(UTC))  # fmt: skip
    assert outcomes(market, "max") == [
        ("a", "b", 0.0), ("a", "c", 1.0), ("a", "d", 0.5), ("b", "c", 1.0), ("b", "d", 1.0), ("c", "d", 0.0),
    ]  # fmt: skip
    assert outcomes(market, "min")[0] == ("a", "b", 1.0)
    ratings = bradley_terry([market], ("a", "b", "c", "d", "e"), "max")
    assert ratings["b"] > ratings["a"] == ratings["d"] > ratings["c"] and ratings["e"] == 0.0


def test_more_models_than_seats_play_every_group_of_them() -> None:
    from evolver.store import PlanRow

    job, models = 1, ("local:gp", "local:random", "openai:gpt-4o-mini")
    rows = [PlanRow(i + 1, f"{job}:0:{m}:0", m, 0, "ok", 50.0 + i, {"usdc": 50.0 + i}, True, True, 0.0)
            for i, m in enumerate(models)]  # fmt: skip
    comp = parse_comp("usdc", load_scenario("arena"))
    args = {"job_id": job, "kind": "tournament", "models": models, "comp": comp, "seed": 0, "attempts": 1,
            "length": 1, "seats": 2}  # fmt: skip
    challenges = plan(candidates=rows, **args)
    assert challenges.phase == 1
    done = rows + [
        PlanRow(10 + n, step.key, step.model, 1, "ok", 1.0, {"usdc": 1.0}, False, True, 0.0)
        for n, step in enumerate(challenges.steps)
    ] + [PlanRow(20 + n, f"{job}:2:{m}:0", m, 2, "ok", 1.0, {"usdc": 1.0}, False, True, 0.0)
         for n, m in enumerate(models)]  # fmt: skip
    markets = plan(candidates=done, **args)
    assert markets.phase == 3 and round_of(3, arena=True) == 1
    assert [step.players for step in markets.steps] == [tuple(p) for p in itertools.combinations((1, 2, 3), 2)]
    assert all(step.op == "market" and step.model == "" for step in markets.steps)
    finished = plan(candidates=done, markets={step.key for step in markets.steps}, **args)
    assert finished.finished


def test_two_models_in_four_seats_share_one_market_with_house_players(tmp_path, pool) -> None:
    store = Store(f"sqlite:///{tmp_path / 'lineage.db'}")
    store.upgrade()
    job_id = tournament(store, pool, "arena4", MODELS, rounds=1)
    (market,) = store.markets(job_id)
    assert market.models == list(MODELS) and len(market.scores) == 2 and None not in market.scores


def test_no_prompt_of_the_tournament_shows_the_hidden_market(played) -> None:
    store, job_id = played
    scenario = load_scenario("arena")
    drawn = [simulate("arena", years=0, seed=seed).v for seed in SEEDS]
    shown = (f"{values[key]:.10g}" for values in drawn for key in scenario.slot.hidden)
    secrets = {value for value in shown if len(value) > 3}  # the drawn floats (a size of 10 is in any prompt)
    prompts = [message["content"] for c in store.lineage(job_id) for message in c.prompt or ()]
    assert prompts
    for text in prompts:
        assert not [key for key in scenario.slot.hidden if f"'{key}'" in text]
        assert not [value for value in secrets if value in text]
