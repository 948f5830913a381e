"""Jobs that fail loudly, bill honestly and keep to what they were given: real SDKs against our wire-level
server, the real sandbox and a real SQLite store.

- A model that cannot be used at all fails a job at once (a tournament goes on without it), and a model that
  cannot be priced or reached is refused before anything is spent.
- Replies are cached per step of a job: a new job pays for its own; replaying another job's replies is asked
  for, paid nothing and shown as such.
- Reads of a job's state cost the same whatever its size.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import wire
from sqlalchemy import event
from test_cli import invoke
from test_providers import APIS, KEY, Api, settings_for
from wire import WireServer

from evolver.engine import Engine
from evolver.errors import EvolverError, ProviderError
from evolver.job import JobSpec
from evolver.settings import Settings
from evolver.state import job_state
from evolver.store import Store

MODEL = "openai:gpt-4o-mini"
PRICE_IN, PRICE_OUT = 0.15, 0.60  # prices.toml's line for gpt-4o-mini, USD per million tokens
TRADER = (
    "```python\ndef fn(i, v, r, s, p):\n    if v['price'] < 0.9:\n        p['dex'].buyA(5)\n"
    "    elif v['price'] > 1.0:\n        p['dex'].sellA(5)\n```"
)
PAID = (100 * PRICE_IN + 20 * PRICE_OUT) / 1e6  # one reply of 100 tokens in, 20 out


def settings(url: str, **overrides: object) -> Settings:
    """The providers at `url`, with a request timeout no loaded machine reaches (the tests count requests)."""
    return settings_for(url, **{"request_timeout": 10.0, **overrides})


def answering() -> WireServer:
    return WireServer(wire.openai_reply(TRADER, 100, 20))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spec(**fields: object) -> JobSpec:
    return JobSpec(**{"scenario": "ai3_plugins", "models": (MODEL,), "generations": 2, "attempts": 1, **fields})


def lineage(store: Store, job_id: int) -> list[tuple]:
    return [(c.key.split(":", 1)[1], c.op, c.code_hash, c.status, c.score) for c in store.lineage(job_id)]


# Honest cost


def test_a_second_job_makes_its_own_calls_and_pays_only_for_them(store, pool):
    with answering() as server:
        engine = Engine(store, settings(server.url), pool)
        first = engine.execute(spec())
        after_first = len(server.requests)
        second = engine.execute(spec())
        requests = len(server.requests)
    assert after_first == 2 and requests == 4  # the second job asked for its own replies
    assert lineage(store, first) == lineage(store, second)
    for job_id in (first, second):
        (standing,) = job_state(store, job_id).standings
        assert standing.calls == 2 and standing.cost == pytest.approx(2 * PAID)
        assert all(c.replayed_from is None and c.cost == pytest.approx(PAID) for c in store.lineage(job_id))


def test_a_replay_reuses_another_jobs_replies_pays_nothing_and_says_so(store, pool):
    with answering() as server:
        engine = Engine(store, settings(server.url), pool)
        original = engine.execute(spec())
        replay = engine.execute(spec(replay=original))
        longer = engine.execute(spec(replay=original, generations=3))  # its third generation is new
        requests = len(server.requests)
    assert requests == 2 + 0 + 1
    assert lineage(store, replay) == lineage(store, original)
    assert lineage(store, longer)[:2] == lineage(store, original)
    assert store.job(replay).replay == original
    rows = store.lineage(replay)
    assert all(c.replayed_from == original and c.cost == 0 and c.tokens_in == c.tokens_out == 0 for c in rows)
    (standing,) = job_state(store, replay).standings
    assert standing.calls == 0 and standing.cost == 0
    (standing,) = job_state(store, longer).standings
    assert standing.calls == 1 and standing.cost == pytest.approx(PAID)
    assert [c.reply for c in rows] == [c.reply for c in store.lineage(original)]  # the replies as they were given


def test_a_replay_of_a_job_that_does_not_exist_is_refused(store):
    with pytest.raises(EvolverError, match="no job 42"):
        Engine(store, settings("http://127.0.0.1:9")).submit(spec(replay=42))
    assert store.count_jobs() == 0


def test_a_redelivered_step_is_neither_paid_twice_nor_answered_differently(store, pool):
    with answering() as server:
        engine = Engine(store, settings(server.url), pool)
        job_id = engine.submit(spec(generations=1))
        (step,) = engine.advance(job_id).steps
        engine.propose(step)
        engine.propose(step)  # a redelivered task
        first = engine.evaluate(step)
        assert engine.evaluate(step) == first
        assert len(server.requests) == 1
    assert [(s.calls, s.cost) for s in job_state(store, job_id).standings] == [(1, pytest.approx(PAID))]


# Loud failures


def test_a_wrong_key_fails_the_job_at_once_and_resume_continues_it_once_fixed(store, pool):
    with WireServer(wire.openai_error(401, f"Incorrect API key provided: {KEY}", "invalid_api_key")) as server:
        engine = Engine(store, settings(server.url), pool)
        with pytest.raises(ProviderError) as failed:
            engine.execute(spec())
        requests = len(server.requests)
    assert failed.value.fatal and requests == 1
    job = store.job(1)
    assert job.status == "failed" and MODEL in job.error and "OPENAI_API_KEY" in job.error and KEY not in job.error
    assert store.lineage(1) == []  # nothing was paid, nothing is a candidate
    with answering() as server:
        engine = Engine(store, settings(server.url), pool)
        engine.resume(1)
        assert engine.run(1) == "done"
    assert len(store.lineage(1)) == 2


def tags_for(api: Api) -> dict[str, list[wire.Response]]:
    """Ollama's model list (its check at submit) naming the api's model."""
    return {"/api/tags": [wire.ollama_tags(api.model_id.partition(":")[2])]}


@pytest.mark.parametrize("status", [401, 404])
@pytest.mark.parametrize("api", APIS, ids=lambda api: api.model_id.partition(":")[0])
def test_a_model_that_cannot_be_used_fails_the_job_after_one_request(store, pool, api, status):
    with WireServer(api.error(status, "no such model, or no such key"), routes=tags_for(api)) as server:
        started = time.monotonic()
        with pytest.raises(ProviderError) as failed:
            Engine(store, settings(server.url), pool).execute(spec(models=(api.model_id,), generations=3))
        calls = [r for r in server.requests if r.path == api.path]
    assert failed.value.fatal and len(calls) == 1 and time.monotonic() - started < 10
    job = store.job(1)
    assert job.status == "failed" and api.model_id in job.error and "fix:" in job.error
    assert store.lineage(1) == []


@pytest.mark.parametrize("api", APIS, ids=lambda api: api.model_id.partition(":")[0])
def test_a_model_with_no_server_fails_in_seconds(store, pool, api):
    started = time.monotonic()
    with pytest.raises(ProviderError) as failed:
        Engine(store, settings(f"http://127.0.0.1:{closed_port()}"), pool).execute(spec(models=(api.model_id,)))
    assert failed.value.fatal and time.monotonic() - started < 5
    ollama = api.model_id.startswith("ollama:")
    assert store.count_jobs() == (0 if ollama else 1)  # Ollama's host is checked at submit; the others at the call
    assert ollama or store.job(1).status == "failed"


def test_the_evolve_command_names_the_model_the_error_and_the_resume(tmp_path, monkeypatch):
    monkeypatch.setenv("EVOLVER_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("EVOLVER_SANDBOX_WORKERS", "1")
    with WireServer(wire.openai_error(401, "Incorrect API key provided", "invalid_api_key")) as server:
        monkeypatch.setenv("EVOLVER_OPENAI_BASE_URL", f"{server.url}/v1")
        result = invoke("evolve", "ai3_plugins", "--model", MODEL, "--generations", "2")
    assert result.exit_code == 1, result.output
    (line,) = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert "job 1 failed" in line and MODEL in line and "OPENAI_API_KEY" in line and "evolver resume 1" in line
    assert "done" not in result.output and "export" not in result.output


def test_a_tournament_retires_a_model_that_cannot_be_used_and_the_others_go_on(store, pool):
    models = ("local:gp", "local:random", MODEL)
    with WireServer(wire.openai_error(404, "The model `gpt-4o-mini` does not exist", "model_not_found")) as server:
        engine = Engine(store, settings(server.url), pool)
        job_id = engine.execute(JobSpec(kind="tournament", scenario="ai3_plugins", models=models, rounds=1, attempts=1))
        requests = len(server.requests)
    assert requests == 1  # retired at its first call, never asked again
    assert store.job(job_id).status == "done"
    gone = {s.model: s.retired for s in job_state(store, job_id).standings}
    assert gone["local:gp"] is None and gone["local:random"] is None and "404" in gone[MODEL]
    assert store.retired(job_id)[MODEL][0] == 0  # from the first phase on
    played = {(m.challenger, m.defender) for m in store.matches(job_id)}
    assert played == {("local:gp", "local:random"), ("local:random", "local:gp")}
    assert {c.model_id for c in store.lineage(job_id)} == {"local:gp", "local:random"}


def test_a_tournament_left_with_one_model_fails_saying_why(store, pool):
    with WireServer(wire.openai_error(401, "Incorrect API key provided", "invalid_api_key")) as server:
        engine = Engine(store, settings(server.url), pool)
        job_id = engine.execute(JobSpec(kind="tournament", scenario="ai3_plugins", models=("local:gp", MODEL)))
    job = store.job(job_id)
    assert job.status == "failed" and "fewer than two models remain" in job.error and MODEL in job.error


def test_a_model_without_a_price_is_refused_before_it_is_called(store, tmp_path):
    prices = tmp_path / "prices.toml"
    prices.write_text('"local:*" = { input = 0, output = 0 }\n')
    with answering() as server:
        engine = Engine(store, settings(server.url, prices_path=prices))
        with pytest.raises(EvolverError, match=f"no price for {MODEL}"):
            engine.submit(spec())
        assert server.requests == []
    assert store.count_jobs() == 0


def test_a_price_removed_before_a_resume_is_refused_before_it_is_called(store, pool, tmp_path):
    with answering() as server:
        job_id = Engine(store, settings(server.url), pool).submit(spec())
        store.set_job_status(job_id, "failed", expected="pending")
        prices = tmp_path / "prices.toml"
        prices.write_text('"local:*" = { input = 0, output = 0 }\n')
        with pytest.raises(EvolverError, match=f"no price for {MODEL}"):
            Engine(store, settings(server.url, prices_path=prices), pool).resume(job_id)
        assert server.requests == []
    assert store.job(job_id).status == "failed"


def test_an_unreachable_ollama_is_refused_at_submit_in_seconds(tmp_path, monkeypatch):
    monkeypatch.setenv("EVOLVER_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("EVOLVER_OLLAMA_HOST", f"http://127.0.0.1:{closed_port()}")
    started = time.monotonic()
    result = invoke("evolve", "ai3_plugins", "--model", "ollama:llama3")
    assert time.monotonic() - started < 5
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and "ollama:llama3" in result.output and "ollama serve" in result.output
    assert Store(f"sqlite:///{tmp_path / 'cli.db'}").count_jobs() == 0


def test_an_ollama_without_the_model_is_refused_at_submit(store):
    tags = wire.ollama_tags("qwen2.5:0.5b")
    with (
        WireServer(tags, routes={"/api/tags": [tags]}) as server,
        pytest.raises(ProviderError, match="ollama pull llama3"),
    ):
        Engine(store, settings(server.url)).submit(spec(models=("ollama:llama3",)))
    assert store.count_jobs() == 0


# Reads


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    """The SQL statements the store sends inside the block."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    engine = store._engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def a_job_of(store: Store, size: int) -> int:
    """A finished job of `size` candidates with long prompts and replies (what a poll must not read)."""
    job_id = store.create_job(
        scenario="ai3_plugins", goal="g", comp="max:usdc", direction="max", models=["local:gp", "local:random"],
        budget={"generations": size // 2, "attempts": 1}, seed=0,
    )  # fmt: skip
    text = "x" * 20_000
    for n in range(size):
        store.add_candidate(
            key=f"{job_id}:{n // 2}:{n}:0", job_id=job_id, model_id=("local:gp", "local:random")[n % 2], op="init",
            generation=n // 2, code=text, status="ok", score=float(n % 97), metrics={"usdc": float(n % 97)},
            prompt=[{"role": "user", "content": text}], reply=text, cost=0.001,
        )  # fmt: skip
    store.set_job_phase(job_id, size // 2)
    store.set_job_status(job_id, "done")
    return job_id


def test_a_jobs_state_is_read_with_the_same_few_slim_queries_at_any_size(store):
    small, large = a_job_of(store, 20), a_job_of(store, 2000)
    shapes = {}
    for job_id in (small, large):
        with statements(store) as seen:
            state = job_state(store, job_id)
        shapes[job_id] = seen
        assert not any(column in sql for sql in seen for column in ("code", "prompt", "reply", "metrics"))
    assert shapes[small] == shapes[large] and len(shapes[large]) <= 4 + len(state.standings)  # a seek per model
    state = job_state(store, large)
    assert (state.candidates, state.ok, state.phase, state.phases) == (2000, 2000, 1000, 1000)
    gp, random = state.standings
    assert (gp.model, gp.best, gp.calls, gp.cost) == ("local:gp", 96.0, 1000, pytest.approx(1.0))
    assert (random.model, random.calls) == ("local:random", 1000)
    assert state.best.best_candidate == store.best(large, "max").id


def test_planning_reads_only_the_phase_under_way(store, pool):
    engine = Engine(store, settings("http://127.0.0.1:9"), pool)
    job_id = engine.submit(spec(models=("local:gp",), generations=4))
    for _ in range(2):
        for step in engine.advance(job_id).steps:
            engine.propose(step)
            engine.evaluate(step)
    with statements(store) as seen:
        current = engine.plan(job_id)
    (read,) = [sql for sql in seen if "FROM candidates" in sql]
    columns = read.split("FROM")[0]
    assert "generation >=" in read and not any(f"candidates.{c}," in columns for c in ("code", "prompt", "reply"))
    fresh = Engine(store, settings("http://127.0.0.1:9"), pool).plan(job_id)
    assert current == fresh and current.phase == 2


def test_reading_a_job_needs_no_price_table_and_no_engine(tmp_path, monkeypatch):
    monkeypatch.setenv("EVOLVER_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert invoke("evolve", "ai3_plugins", "--generations", "1").exit_code == 0
    monkeypatch.setenv("EVOLVER_PRICES_PATH", str(tmp_path / "missing.toml"))
    for command in (("status", "1"), ("watch", "1"), ("jobs",), ("lineage", "1")):
        result = invoke(*command)
        assert result.exit_code == 0 and "done" in result.output, (command, result.output)
    assert invoke("evolve", "ai3_plugins").exit_code == 2  # a run does need its prices
