"""The engine's operations one at a time: repeated safely, resumed after an interruption, within a budget;
tournaments and their leaderboard; the commands that follow and continue runs."""

from __future__ import annotations

import threading

import pytest
import wire
from test_cli import invoke
from test_providers import settings_for
from wire import WireServer

from evolver.engine import Engine
from evolver.job import JobSpec
from evolver.plan import Step
from evolver.settings import ProviderLimit, Settings
from evolver.store import MatchRow, Store
from evolver.tournament import elo
from sandbox import SandboxPool

CODE = "```python\ndef fn(i, v, r, s, p):\n    if v['price'] < 0.9:\n        p['dex'].buyA(5)\n```"
TOURNAMENT = JobSpec(kind="tournament", scenario="ai3_plugins", models=("local:gp", "local:random"), rounds=2,
                     attempts=2, seeds=(0, 1))  # fmt: skip


def outcome(store: Store, job_id: int) -> list[tuple]:
    rows = [(c.key.split(":", 1)[1], c.op, c.code_hash, c.status, c.score) for c in store.lineage(job_id)]
    return sorted(rows) + sorted((m.round, m.challenger, m.defender, m.won) for m in store.matches(job_id))


def test_a_repeated_step_asks_once_and_writes_once(store, pool):
    with WireServer(wire.openai_reply(CODE, 100, 20)) as server:
        engine = Engine(store, settings_for(server.url), pool)
        job_id = engine.submit(JobSpec(scenario="ai3_plugins", models=("openai:gpt-4o-mini",), generations=1))
        (step,) = engine.advance(job_id).steps
        for _ in range(3):  # a redelivered task, twice
            engine.propose(step)
            candidate_id = engine.evaluate(step)
        assert len(server.requests) == 1
    assert [c.id for c in store.lineage(job_id)] == [candidate_id]
    assert store.candidate(candidate_id).cost > 0 and store.spent(job_id) == store.candidate(candidate_id).cost
    assert engine.advance(job_id).finished and store.job(job_id).status == "done"


def test_an_interrupted_job_resumes_without_redoing_anything(store, pool, tmp_path, monkeypatch):
    spec = JobSpec(scenario="ai3_plugins", models=("local:gp", "local:random"), generations=3, attempts=2)
    whole = Store(f"sqlite:///{tmp_path / 'whole.db'}")
    whole.upgrade()
    expected = outcome(whole, Engine(whole, Settings(), pool).execute(spec))
    engine = Engine(store, Settings(), pool)
    job_id = engine.submit(spec)
    for step in engine.advance(job_id).steps[:1]:  # the process dies after one step
        engine.propose(step)
        engine.evaluate(step)
    engine.fail(job_id, KeyboardInterrupt())
    first = store.lineage(job_id)
    monkeypatch.setenv("EVOLVER_DATABASE_URL", f"sqlite:///{tmp_path / 'lineage.db'}")
    result = invoke("resume", str(job_id))
    assert result.exit_code == 0, result.output
    assert f"job {job_id}: done" in result.output
    assert store.lineage(job_id)[: len(first)] == first  # kept as they were, not written again
    assert outcome(store, job_id) == expected
    again = invoke("resume", str(job_id))
    assert again.exit_code == 2 and "nothing left to resume" in again.output


def test_a_tournament_plays_every_pair_each_round_and_ranks_the_models(store, pool):
    engine = Engine(store, Settings(), pool)
    job_id = engine.execute(TOURNAMENT)
    assert store.job(job_id).status == "done" and store.job(job_id).kind == "tournament"
    matches = store.matches(job_id)
    assert [(m.round, m.challenger, m.defender) for m in matches] == [
        (1, "local:gp", "local:random"), (1, "local:random", "local:gp"),
        (2, "local:gp", "local:random"), (2, "local:random", "local:gp"),
    ]  # fmt: skip
    candidates = {c.id: c for c in store.lineage(job_id)}
    for match in matches:
        defender = candidates[match.defender_candidate_id]
        assert defender.model_id == match.defender and defender.score == match.defender_score
        assert match.seeds == [0, 1]
        if match.won:
            assert match.challenger_score > match.defender_score
    phases = {c.generation for c in candidates.values()}
    assert phases == set(range(5))  # init, then a challenge and an improvement phase per round


def test_a_tournament_run_step_by_step_or_side_by_side_gives_the_same_matches(store, pool):
    first = Engine(store, Settings(), pool).execute(TOURNAMENT)
    with SandboxPool(workers=2) as two:
        second = Engine(store, Settings(), two).execute(TOURNAMENT)
    assert outcome(store, first) == outcome(store, second)


def test_elo_rates_the_winner_up_by_the_expected_amount():
    def match(round_, challenger, defender, won):
        return MatchRow(0, 1, round_, challenger, defender, None, 1, [0], None, 1.0, won, None)

    rating = elo([match(1, "a", "b", True)], ("a", "b"))
    assert rating == {"a": 1516.0, "b": 1484.0}
    rating = elo([match(2, "b", "a", True), match(1, "a", "b", True)], ("a", "b"))  # replayed by round
    assert rating["b"] == pytest.approx(1484 + 32 * (1 - 1 / (1 + 10 ** ((1516 - 1484) / 400))))


def test_the_tournament_cli_prints_a_leaderboard(tmp_path, monkeypatch):
    monkeypatch.setenv("EVOLVER_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    result = invoke("tournament", "ai3_plugins", "--model", "local:gp", "--model", "local:random", "--rounds", "1",
                    "--attempts", "1", "--seed", "0", "--seed", "1")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "rating" in result.output and "tournament 1: done" in result.output
    status = invoke("status", "1")
    assert status.exit_code == 0 and "matches" in status.output and "phase 3/3" in status.output
    watched = invoke("watch", "1")
    assert watched.exit_code == 0 and "local:random" in watched.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tournament", "ai3_plugins", "--model", "local:gp"), "a tournament needs at least two models"),
        (("tournament", "ai3_plugins", "--model", "local:gp", "--model", "local:gp"), "repeated: local:gp"),
        (("tournament", "ai3_plugins", "--model", "local:gp", "--model", "x:y"), "unknown provider 'x'"),
        (("tournament", "nope", "--model", "local:gp", "--model", "local:random"), "nope"),
        (("tournament", "ai3_plugins", "--model", "local:gp", "--model", "local:random", "--rounds", "0"), "--rounds"),
        (("status", "99"), "no job 99"),
        (("watch", "99"), "no job 99"),
        (("resume", "99"), "no job 99"),
    ],
)
def test_mistakes_are_one_line_and_write_nothing(tmp_path, monkeypatch, args, message):
    store = Store(f"sqlite:///{tmp_path / 'cli.db'}")
    store.upgrade()
    monkeypatch.setenv("EVOLVER_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    result = invoke(*args)
    assert result.exit_code == 2 and message in result.output and result.output.startswith("error:")
    assert store.jobs() == []


def test_a_spent_budget_stops_a_tournament_before_any_call(store, pool):
    engine = Engine(store, Settings(), pool)
    job_id = engine.execute(TOURNAMENT.model_copy(update={"max_cost": 0.0}))
    assert store.job(job_id).status == "stopped" and store.lineage(job_id) == []


def test_a_budget_reached_mid_job_stops_new_calls(store, pool):
    replies = [wire.openai_reply(CODE, 1_000_000, 0)]  # $0.15 a call at gpt-4o-mini's price
    with WireServer(*replies) as server:
        spec = JobSpec(scenario="ai3_plugins", models=("openai:gpt-4o-mini",), generations=5, attempts=1, max_cost=0.2)
        job_id = Engine(store, settings_for(server.url), pool).execute(spec)
        assert len(server.requests) == 2
    job = store.job(job_id)
    assert job.status == "stopped" and "$0.2" in job.error and store.spent(job_id) == pytest.approx(0.3)


def test_a_provider_limit_holds_the_engine_to_its_quota(store, pool):
    """Four calls at once from four threads, within a concurrency of 1: the server never answers two at once."""
    reply = wire.openai_reply(CODE)
    with WireServer(wire.Response(reply.status, reply.body, delay=0.05)) as server:
        settings = settings_for(server.url, provider_limits={"openai": ProviderLimit(concurrency=1)})
        engine = Engine(store, settings, pool)
        job_id = engine.submit(JobSpec(scenario="ai3_plugins", models=("openai:gpt-4o-mini",), generations=1))
        step = engine.advance(job_id).steps[0]
        steps = [Step(**{**step.to_dict(), "seed": seed, "key": f"{step.key}:{seed}"}) for seed in range(4)]
        threads = [threading.Thread(target=engine.propose, args=(s,)) for s in steps]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(server.requests) == 4 and server.most_in_flight == 1
