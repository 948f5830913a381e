"""Training and held-out seeds: a job's spec, the held-out evaluation of every candidate that runs ok, and the rule
that nothing is ever chosen on held-out results nor shown to a model: runs whose held-out results are poisoned make
the same choices, matches and prompts as honest ones."""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import wire
from pydantic import ValidationError
from sqlalchemy import create_engine, text
from test_cli import invoke
from test_providers import settings_for
from test_schema import migrate
from wire import WireServer

import simcore
from evolver.engine import Engine, JobError
from evolver.job import JobSpec
from evolver.plan import Step
from evolver.settings import Settings
from evolver.store import JobRow, Store
from evolver.store.schema import SCHEMA_HEAD
from sandbox import Evaluation, SandboxPool, Status

SEEDS, HELDOUT = (0, 1), (2, 3)
POISON = 987_654_321.0  # held-out numbers no honest run, and no prompt, could contain


def spec(**fields: Any) -> JobSpec:
    return JobSpec(scenario="ai3_plugins", seeds=SEEDS, heldout=HELDOUT, **fields)


# The spec


def test_training_and_held_out_seeds_never_share_a_seed() -> None:
    with pytest.raises(ValidationError, match="seeds 1, 3 are both training and held-out seeds"):
        JobSpec(scenario="ai3_plugins", seeds=(0, 1, 3), heldout=(3, 1, 7))
    assert spec().heldout == HELDOUT and JobSpec(scenario="ai3_plugins", heldout=()).heldout == ()
    resolved = JobSpec(scenario="ai3_plugins", seeds=(5,)).resolved(train=(0, 1), heldout=(1000, 1001))
    assert (resolved.seeds, resolved.heldout) == ((5,), (1000, 1001))  # what the user gave is kept
    assert JobSpec(scenario="ai3_plugins", heldout=()).resolved((0, 1), (9,)).heldout == ()  # none asked for
    with pytest.raises(ValidationError, match="seeds 9 are both"):
        JobSpec(scenario="ai3_plugins", seeds=(9,)).resolved((0,), (9,))


def test_a_job_stored_before_held_out_seeds_has_none(store: Store) -> None:
    job_id = store.create_job(
        scenario="ai3_plugins", goal="g", comp="max:usdc", direction="max", models=["local:gp"], seed=0,
        budget={"generations": 2, "attempts": 1, "max_cost": None, "seeds": [4], "years": None},
    )  # fmt: skip
    job = store.job(job_id)
    assert isinstance(job, JobRow)
    assert (JobSpec.from_row(job).seeds, JobSpec.from_row(job).heldout) == ((4,), ())


GAME = '\ngame = {"train": [0, 1], "heldout": [5, 6]}\n'


@pytest.fixture
def game_file(tmp_path: Path) -> Path:
    """ai3_plugins with a game that trains on seeds 0 and 1 and holds out 5 and 6."""
    path = tmp_path / "held_game.py"
    path.write_text(Path(simcore.load_scenario("ai3_plugins").module.__file__).read_text() + GAME)
    return path


def test_a_job_takes_its_games_seeds_unless_given_its_own(store: Store, game_file: Path) -> None:
    engine = Engine(store, Settings())
    given = {"default": {}, "own": {"seeds": (2,), "heldout": (7,)}, "none held out": {"heldout": ()}}
    budgets = {
        name: store.job(engine.submit(JobSpec(scenario=str(game_file), **fields))).budget  # type: ignore[union-attr]
        for name, fields in given.items()
    }
    assert {name: (b["seeds"], b["heldout"]) for name, b in budgets.items()} == {
        "default": ([0, 1], [5, 6]), "own": ([2], [7]), "none held out": ([0, 1], []),
    }  # fmt: skip
    plain = store.job(engine.submit(JobSpec(scenario="ai3_plugins"))).budget  # type: ignore[union-attr]
    assert (plain["seeds"], plain["heldout"]) == ([0], [])  # a game without a declaration: seed 0, none held out
    with pytest.raises(JobError, match=r"seeds 5 are both .*held_game's game trains on seeds \[0, 1\] and holds out"):
        engine.submit(JobSpec(scenario=str(game_file), seeds=(5,)))


def test_the_cli_takes_held_out_seeds_or_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, game_file: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("EVOLVER_DATABASE_URL", url)
    runs = [
        ("evolve", "ai3_plugins", "--generations", "1", "--seed", "3", "--heldout-seed", "4", "--heldout-seed", "8"),
        ("evolve", str(game_file), "--generations", "1", "--no-heldout"),
        ("tournament", str(game_file), "--model", "local:gp", "--model", "local:random", "--rounds", "1",
         "--attempts", "1"),
    ]  # fmt: skip
    for args in runs:
        result = invoke(*args)
        assert result.exit_code == 0, result.output
    store = Store(url)
    assert [(j.budget["seeds"], j.budget["heldout"]) for j in store.jobs()] == [([3], [4, 8]), ([0, 1], []),
                                                                                 ([0, 1], [5, 6])]  # fmt: skip
    mistakes = {
        ("--seed", "4", "--heldout-seed", "4"): "error: seeds 4 are both training and held-out seeds",
        ("--heldout-seed", "4", "--no-heldout"): "error: --no-heldout: give it or --heldout-seed, not both",
        ("--heldout-seed", "-1",): "error: --heldout-seed: Input should be greater than or equal to 0",
    }  # fmt: skip
    for args, message in mistakes.items():
        result = invoke("evolve", "ai3_plugins", "--generations", "1", *args)
        assert result.exit_code == 2 and result.output.startswith(message), result.output
    result = invoke("evolve", str(game_file), "--generations", "1", "--seed", "6")
    assert result.exit_code == 2 and "seeds 6 are both" in result.output and "holds out [5, 6]" in result.output
    assert len(store.jobs()) == 3


# Every candidate that runs ok is scored on the held-out seeds too


def test_every_ok_candidate_is_scored_on_the_held_out_seeds_apart(store: Store, pool: SandboxPool) -> None:
    job_id = Engine(store, Settings(), pool).execute(spec(models=("local:gp", "local:random"), generations=3))
    candidates = store.lineage(job_id)
    assert {c.status for c in candidates} >= {"ok"}
    for candidate in candidates:
        rows = store.evaluations(candidate.id)
        if candidate.status != "ok":
            assert (candidate.heldout_score, candidate.heldout_status) == (None, None)
            assert all(not row.heldout for row in rows)
            continue
        training, heldout = rows
        assert (training.seeds, training.heldout, training.score) == ([0, 1], False, candidate.score)
        assert (heldout.seeds, heldout.heldout, heldout.status) == ([2, 3], True, "ok")
        alone = pool.evaluate(candidate.code, "ai3_plugins", HELDOUT)
        assert heldout.score == candidate.heldout_score == alone.score and heldout.metrics == alone.metrics
        assert candidate.gap == candidate.heldout_score - candidate.score


def only_on(seeds: Sequence[int]) -> str:
    """A player that runs on `seeds` and raises on any other: it tells a seed by the first number its own
    `p["rng"]` draws (seeded from the slot's key and the seed)."""
    key = simcore.load_scenario("ai3_plugins").slot.key  # type: ignore[union-attr]
    known = tuple(random.Random(f"{key}:{seed}").random() for seed in seeds)
    return (
        "```python\ndef fn(i, v, r, s, p):\n    if 'drawn' not in r:\n        r['drawn'] = p['rng'].random()\n"
        f"        if r['drawn'] not in {known!r}:\n            raise ValueError('not a training seed')\n"
        "    if v['price'] < 0.9:\n        p['dex'].buyA(5)\n```"
    )


class Counting:
    """A sandbox pool that counts its evaluations."""

    def __init__(self, pool: SandboxPool) -> None:
        self.pool, self.calls, self.workers = pool, 0, 1

    def evaluate(
        self, code: str, scenario: str, seeds: Sequence[int] = (0,), years: float | None = None, feedback: bool = False
    ) -> Evaluation:
        self.calls += 1
        return self.pool.evaluate(code, scenario, seeds, years, feedback=feedback)


def test_a_player_that_fails_only_on_held_out_seeds_stays_ok_and_a_repeated_step_evaluates_once(
    store: Store, pool: SandboxPool
) -> None:
    counting = Counting(pool)
    with WireServer(wire.openai_reply(only_on(SEEDS))) as server:
        engine = Engine(store, settings_for(server.url), counting)
        job_id = engine.submit(spec(models=("openai:gpt-4o-mini",), generations=1, attempts=1))
        (step,) = engine.advance(job_id).steps
        for _ in range(3):  # a redelivered step, twice
            engine.propose(step)
            candidate_id = engine.evaluate(step)
    assert counting.calls == 2  # training, then held-out: once
    candidate = store.candidate(candidate_id)  # type: ignore[arg-type]
    assert candidate is not None and candidate.status == "ok" and candidate.score is not None
    assert (candidate.heldout_status, candidate.heldout_score, candidate.gap) == ("runtime_error", None, None)
    training, heldout = store.evaluations(candidate.id)
    assert (training.status, training.error, heldout.heldout, heldout.seeds) == ("ok", None, True, [2, 3])
    assert "not a training seed" in (heldout.error or "") and heldout.error_line == 5
    assert [c.id for c in store.lineage(job_id)] == [candidate.id]
    assert engine.advance(job_id).finished and store.job(job_id).status == "done"  # type: ignore[union-attr]


def test_show_lineage_jobs_status_and_export_give_both_scores_and_the_gap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("EVOLVER_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "300")  # the lineage tree on one line per candidate
    result = invoke("evolve", "noisy_market", "--generations", "2", "--seed", "0", "--heldout-seed", "7")
    assert result.exit_code == 0, result.output
    store = Store(url)
    best = store.best(1, "max")
    assert best is not None and best.heldout_score is not None and best.gap is not None
    heldout, gap = _number(best.heldout_score), _number(best.gap, signed=True)
    tree = invoke("lineage", "1").output
    shared = re.escape(f"held-out {heldout} (") + r"-?\d+\.\d %\*, " + re.escape(f"gap {gap})")  # a lower bound's share
    assert re.search(shared, tree), tree
    shown = invoke("show", str(best.id)).output
    assert "training seeds [0]: ok, score" in shown and f"held-out seeds [7]: ok, score {heldout}" in shown
    assert f"candidate {best.id}, held-out seeds" in shown
    listed = invoke("jobs").output
    assert heldout in listed and gap in listed
    status = invoke("status", "1").output
    assert "held-out" in status and heldout in status and gap in status
    player = tmp_path / "player.py"
    assert invoke("export", "--job", "1", "--best", "-o", str(player)).exit_code == 0
    header = player.read_text()
    assert f"Score: {best.score!r} (max:usdc) on training seeds [0]" in header
    assert f"Held-out score: {best.heldout_score!r} on held-out seeds [7], gap {best.gap!r}" in header


def _number(value: float, signed: bool = False) -> str:
    from evolver.cli.views import number

    return (("+" if value >= 0 else "") if signed else "") + number(value)


# Nothing is chosen on held-out results, nor shown to a model


class Poisoned:
    """A sandbox pool whose held-out results are garbage: huge scores, changing from call to call, and failures."""

    def __init__(self, pool: SandboxPool, heldout: Sequence[int]) -> None:
        self.pool, self.heldout, self.workers = pool, tuple(heldout), 1
        self.count = itertools.count()

    def evaluate(
        self, code: str, scenario: str, seeds: Sequence[int] = (0,), years: float | None = None, feedback: bool = False
    ) -> Evaluation:
        honest = self.pool.evaluate(code, scenario, seeds, years, feedback=feedback)
        if tuple(seeds) != self.heldout:
            return honest
        n = next(self.count)
        if n % 4 == 3:
            return Evaluation(Status.RUNTIME_ERROR, tuple(seeds), error=f"poisoned {POISON}", line=1)
        sign = -1 if n % 2 else 1
        metrics = {name: sign * (POISON + n) for name in honest.metrics}
        return replace(honest, status=Status.OK, metrics=metrics, per_seed=[metrics] * len(seeds))


def tamper(store: Store, job_id: int) -> None:
    """Overwrites every held-out result stored so far with extreme numbers (as a bug or an attacker might)."""
    engine = create_engine(store._url)  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE candidates SET heldout_score = :poison * (1 - 2 * (id % 2)) WHERE job_id = :job"),
            {"poison": POISON, "job": job_id},
        )
        connection.execute(
            text(
                "UPDATE evaluations SET score = :poison, metrics = :metrics WHERE heldout AND candidate_id IN "
                "(SELECT id FROM candidates WHERE job_id = :job)"
            ),
            {"poison": -POISON, "metrics": f'{{"usdc": {-POISON}, "value": {POISON}}}', "job": job_id},
        )
    engine.dispose()


def drive(engine: Engine, job_id: int, between: Callable[[], None]) -> list[tuple]:
    """Runs the job step by step, calling `between` after each phase; the steps it was given, their parents,
    targets and references named by key (row ids differ between stores)."""
    steps: list[Step] = []
    while batch := engine.advance(job_id).steps:
        for step in batch:
            engine.propose(step)
            engine.evaluate(step)
        steps.extend(batch)
        between()
    keys = {c.id: c.key for c in engine.store.lineage(job_id)}
    return [
        (s.key, s.model, s.op, s.seed, keys.get(s.parent_id), keys.get(s.target_id), keys.get(s.reference_id))
        for s in steps
    ]  # type: ignore[arg-type]


def choices(store: Store, job_id: int) -> tuple[list[tuple], list[tuple]]:
    """What a run chose: every candidate (key, op, code, training result, parent and target by key, prompt), and
    every match."""
    rows = store.lineage(job_id)
    keys = {c.id: c.key for c in rows}
    candidates = [
        (c.key, c.op, c.code_hash, c.status, c.score, c.metrics, c.improved, keys.get(c.parent_id),
         keys.get(c.target_id), c.prompt)
        for c in rows
    ]  # fmt: skip
    matches = [
        (m.round, m.challenger, m.defender, keys.get(m.challenger_candidate_id), keys[m.defender_candidate_id],
         m.challenger_score, m.defender_score, m.won)
        for m in store.matches(job_id)
    ]  # fmt: skip
    return sorted(candidates, key=lambda c: c[0]), matches


@pytest.mark.parametrize(
    "run",
    [
        {"models": ("local:gp", "local:random"), "generations": 4, "attempts": 2},
        {"kind": "tournament", "models": ("local:gp", "local:random"), "rounds": 2, "attempts": 2},
    ],
    ids=["evolve", "tournament"],
)
def test_poisoned_held_out_results_change_no_choice_match_or_prompt(
    run: dict[str, Any], pool: SandboxPool, tmp_path: Path
) -> None:
    job = JobSpec(scenario="noisy_market", seeds=SEEDS, heldout=HELDOUT, years=0.5, **run)

    def execute(name: str, evaluator: Any, poison: bool) -> tuple[list[tuple], list[tuple], list[tuple], Store, int]:
        store = Store(f"sqlite:///{tmp_path / f'{name}.db'}")
        store.upgrade()
        engine = Engine(store, Settings(), evaluator)
        job_id = engine.submit(job)
        steps = drive(engine, job_id, lambda: tamper(store, job_id) if poison else None)
        return (steps, *choices(store, job_id), store, job_id)

    steps, candidates, matches, honest, honest_id = execute("honest", pool, poison=False)
    poisoned_steps, poisoned_candidates, poisoned_matches, store, job_id = execute(
        "poisoned", Poisoned(pool, HELDOUT), poison=True
    )
    assert steps == poisoned_steps and candidates == poisoned_candidates and matches == poisoned_matches
    assert len(steps) > 4 and (matches or run.get("kind") != "tournament")
    assert {c.heldout_status for c in store.lineage(job_id) if c.status == "ok"} == {"ok", "runtime_error"}
    scored = [c for c in honest.lineage(honest_id) if c.heldout_score is not None]
    assert scored and any(c.heldout_score != c.score for c in scored)  # the held-out seeds are other markets
    poison = re.compile(r"98765|9\.8\d*e\+?0?8")  # POISON (plus a call count), however it might be printed
    for candidate in store.lineage(job_id):
        prompt = " ".join(message["content"] for message in candidate.prompt or [])
        assert not poison.search(prompt), candidate.key
    for row in honest.lineage(honest_id):  # nor does an honest held-out number reach a prompt
        later = [c for c in honest.lineage(honest_id) if c.generation > row.generation]
        own = {repr(row.heldout_score), f"{row.heldout_score:g}"} if row.heldout_score is not None else set()
        shown = {repr(row.score), f"{row.score:g}"} if row.score is not None else set()
        for number in own - shown:
            assert all(number not in str(c.prompt) for c in later), (row.key, number)


# The schema


def test_an_older_store_is_upgraded_and_its_candidates_have_no_held_out_results(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _upgrade_with_data(url)


@pytest.mark.integration
def test_an_older_postgresql_store_is_upgraded_with_its_data() -> None:
    import postgres

    with postgres.running() as server:
        _upgrade_with_data(postgres.create_database(server, "heldout"))


def _upgrade_with_data(url: str) -> None:
    """A store at 0003 holding a job, a candidate and its evaluation, brought to head: they read as before, with no
    held-out seeds or results; a new candidate then has both."""
    migrate(url, "0003")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO jobs (kind, scenario, goal, comp, direction, models, budget, seed, status, created_at, "
            "updated_at) VALUES ('evolve', 'ai3_plugins', 'g', 'max:usdc', 'max', '[\"local:gp\"]', "
            "'{\"seeds\": [0], \"generations\": 1}', 0, 'done', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ))  # fmt: skip
        connection.execute(text("INSERT INTO models (id, provider, name) VALUES ('local:gp', 'local', 'gp')"))
        connection.execute(text(
            "INSERT INTO candidates (key, job_id, model_id, op, generation, code, code_hash, status, score, metrics, "
            "tokens_in, tokens_out, cost, latency_ms, created_at) VALUES ('1:0:local:gp:0', 1, 'local:gp', 'init', "
            "0, 'def fn(i, v, r, s, p): pass', 'h', 'ok', 50.0, '{\"usdc\": 50.0}', 0, 0, 0, 0, CURRENT_TIMESTAMP)"
        ))  # fmt: skip
        connection.execute(text(
            "INSERT INTO evaluations (candidate_id, seeds, seeds_key, status, score, metrics, per_seed, timings, "
            "created_at) VALUES (1, '[0]', '[0]', 'ok', 50.0, '{}', '[]', '{}', CURRENT_TIMESTAMP)"
        ))  # fmt: skip
    engine.dispose()
    store = Store(url)
    store.upgrade()
    assert store.revision() == SCHEMA_HEAD
    job, candidate = store.job(1), store.candidate(1)
    assert job is not None and candidate is not None
    assert (JobSpec.from_row(job).seeds, JobSpec.from_row(job).heldout) == ((0,), ())
    assert (candidate.score, candidate.heldout_score, candidate.heldout_status) == (50.0, None, None)
    assert candidate.gap is None
    (evaluation,) = store.evaluations(1)
    assert (evaluation.heldout, evaluation.error, evaluation.score) == (False, None, 50.0)
    assert store.top(1, "max") == (1, 50.0, None)
    rows = [
        {"seeds": seeds, "years": None, "status": "ok", "score": score, "metrics": {}, "per_seed": [], "timings": {},
         "heldout": held}
        for seeds, score, held in (([0], 60.0, False), ([9], 59.0, True))
    ]  # fmt: skip
    new = store.add_candidate(
        key="new", job_id=1, model_id="local:gp", op="init", generation=0, code="x", status="ok", score=60.0,
        heldout_score=59.0, heldout_status="ok", evaluations=rows,
    )  # fmt: skip
    assert [(e.seeds, e.heldout) for e in store.evaluations(new)] == [([0], False), ([9], True)]
    assert store.standings(1, "max", ("local:gp",))[0].gap == -1.0
    store.close()


def test_an_improve_prompt_shows_its_parents_training_results_and_never_held_out_ones(store, pool) -> None:
    job_id = Engine(store, Settings(broker_url=None), pool).execute(
        JobSpec(scenario="hidden_bots", generations=3, attempts=1, seeds=(0, 1), heldout=(1000, 1001), years=0.3)
    )
    children = [c for c in store.lineage(job_id) if c.parent_id is not None and c.prompt]
    assert children
    for child in children:
        text = child.prompt[-1]["content"]
        trained, held = sorted(store.evaluations(child.parent_id), key=lambda row: row.heldout)
        assert not trained.heldout and held.heldout
        for seed, metrics in zip(trained.seeds, trained.per_seed, strict=True):
            assert f"- seed {seed}: {metrics['usdc']:.10g}; " in text
        assert not [seed for seed in held.seeds if f"seed {seed}" in text]
        assert not [m for m in held.per_seed if f"{m['usdc']:.10g}" in text and m["usdc"] != 50]
