"""Jobs end to end, offline: local generators, the real sandbox and a real SQLite store."""

import pytest
from test_cli import invoke

from evolver.comp import IMPROVED, SAME, WORSE, CompError, parse_comp
from evolver.engine import Engine
from evolver.job import JobSpec
from evolver.settings import Settings
from evolver.store import Store
from sandbox import evaluate
from simcore import load_scenario


def run(store, pool, **fields):
    return Engine(store, Settings(), pool).execute(JobSpec(scenario="ai3_plugins", **fields))


def test_a_gp_job_improves_and_keeps_its_lineage(store, pool):
    job_id = run(store, pool, generations=10, attempts=3, seed=0)
    job = store.job(job_id)
    assert job.status == "done"
    candidates = store.lineage(job_id)
    assert candidates[0].op == "init" and candidates[0].parent_id is None
    ids = {c.id for c in candidates}
    assert all(c.parent_id in ids for c in candidates[1:] if c.parent_id is not None)
    assert len({c.key for c in candidates}) == len(candidates)
    assert any(c.improved for c in candidates[1:]), "no candidate improved on its parent"
    best = store.best(job_id, "max")
    first = next(c for c in candidates if c.score is not None)
    assert best.score > first.score


def test_two_models_beat_each_other(store, pool):
    job_id = run(store, pool, models=("local:gp", "local:random"), generations=5, attempts=2, seed=1)
    candidates = store.lineage(job_id)
    beats = [c for c in candidates if c.target_id is not None]
    assert beats, "no beat turn happened"
    by_id = {c.id: c for c in candidates}
    assert all(by_id[c.target_id].model_id != c.model_id for c in beats)
    standings = store.standings(job_id, "max", ("local:gp", "local:random"))
    assert all(s.cost == 0 and s.calls > 0 for s in standings)


def test_a_spent_budget_stops_the_job_cleanly(store, pool):
    job_id = run(store, pool, generations=3, max_cost=0)
    job = store.job(job_id)
    assert job.status == "stopped" and "budget" in job.error
    assert store.lineage(job_id) == []


def test_comp_parsing_and_comparison():
    scenario = load_scenario("ai3_plugins")
    assert parse_comp(None, scenario).text == "max:usdc"
    least_refused = parse_comp("min:refused", scenario)
    assert least_refused.compare({"refused": 5}, {"refused": 3}) == IMPROVED
    assert least_refused.compare({"refused": 5}, {"refused": 5}) == SAME
    assert parse_comp("value", scenario).compare({"value": 2}, {"value": 1}) == WORSE
    with pytest.raises(CompError, match="not a metric of the slot"):
        parse_comp("profit", scenario)
    for name in ("nope", "buyer", "__class__", "graphs"):  # absent, a player fn(i, v, r, s, p), not functions
        with pytest.raises(CompError, match="no function"):
            parse_comp(f"fn:{name}", scenario)
    with pytest.raises(CompError, match="no slot"):
        parse_comp(None, load_scenario("ai3_quickstart"))


def test_the_cli_evolves_offline_and_the_export_reproduces_the_score(tmp_path, monkeypatch):
    monkeypatch.setenv("EVOLVER_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = invoke(*["evolve", "ai3_plugins", "--generations", "4", "--attempts", "2"])
    assert result.exit_code == 0, result.output
    assert "job 1: done" in result.output
    listed = invoke(*["jobs"]).output
    assert "ai3_plugins" in listed and "local:gp" in listed and "done" in listed
    tree = invoke(*["lineage", "1"])
    assert tree.exit_code == 0 and "init local:gp" in tree.output
    player = tmp_path / "player.py"
    assert invoke(*["export", "--job", "1", "--best", "-o", str(player)]).exit_code == 0
    store = Store(f"sqlite:///{tmp_path / 'cli.db'}")
    best = store.best(1, "max")
    text = player.read_text()
    assert "Lineage:" in text and "sha256: " in text
    assert evaluate(text, "ai3_plugins").score == best.score
    shown = invoke(*["show", str(best.id)])
    assert shown.exit_code == 0 and "def fn" in shown.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["evolve", "ai3_plugins", "--model", "nope:x"], "provider"),
        (["evolve", "ai3_plugins", "--generations", "0"], "--generations"),
        (["evolve", "ai3_plugins", "--comp", "profit"], "not a metric"),
        (["evolve", "ai3_quickstart"], "no slot"),
        (["lineage", "99"], "no job 99"),
        (["show", "99"], "no candidate 99"),
        (["export", "99"], "no candidate 99"),
        (["export"], "give a CANDIDATE"),
    ],
)
def test_cli_mistakes_are_one_line(tmp_path, monkeypatch, args, message):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("EVOLVER_DATABASE_URL", url)
    Store(url).upgrade()  # reads never create the store: they would stop at "no lineage store" first
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
