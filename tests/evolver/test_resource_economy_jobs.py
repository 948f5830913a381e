"""The AI resource economy's seat evolved offline: `evolver evolve resource_economy` with the default model
(`local:gp`) on a temp SQLite store, through the normal job path in this process (sandboxed evaluations), the best
player exported and `evolver evaluate` (the sandbox, in other processes) scoring the exported file to exactly the
stored score; and the game's reference player, sandboxed, scoring what `simcore.play` scores."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest
from test_cli import invoke

import simcore
from evolver.prompting import context_for
from evolver.providers.grammar import market_of
from evolver.store import Store

YEARS = "0.3"  # 110 days: every evaluation of the job, and the re-scoring, at the same length


def ok(*args: str | Path) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("EVOLVER_DATABASE_URL", url)
    monkeypatch.setenv("EVOLVER_SANDBOX_WORKERS", "1")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return url


def test_an_offline_job_bids_in_the_economy_and_its_exported_best_rescores_exactly(
    tmp_path: Path, store_url: str
) -> None:
    assert "job 1: done" in ok("evolve", "resource_economy", "--generations", "3", "--years", YEARS)

    store = Store(store_url)
    best = store.best(1, "max")
    lineage = store.lineage(1)
    store.close()
    assert best is not None and best.status == "ok" and best.model_id == "local:gp"
    assert best.score is not None and best.heldout_score is not None
    assert len(lineage) >= 3 and {c.model_id for c in lineage} == {"local:gp"}

    player = tmp_path / "player.py"
    ok("export", "--job", "1", "--best", "-o", player)
    code = player.read_text()
    assert re.search(r"p\['econ'\]\.buy_(compute|data|storage)\(", code), code

    out = tmp_path / "evaluation.json"
    ok("evaluate", "resource_economy", player, "--years", YEARS, "--json", out)
    evaluation = json.loads(out.read_text())
    loaded = simcore.load_scenario("resource_economy")
    assert evaluation["status"] == "ok" and evaluation["seeds"] == list(loaded.game.train)
    assert evaluation["score"] == best.score  # bit for bit, in other processes
    assert evaluation["metrics"] == best.metrics


def test_the_sandboxed_reference_scores_what_play_scores_and_beats_idle(tmp_path: Path, store_url: str) -> None:
    game = simcore.load_scenario("resource_economy")
    source = inspect.getsource(game.game.reference).replace("def reference(", "def fn(")
    player, out = tmp_path / "reference.py", tmp_path / "reference.json"
    player.write_text(source)
    ok("evaluate", "resource_economy", player, "--seed", "0", "--seed", "1000", "--years", YEARS, "--json", out)
    evaluation = json.loads(out.read_text())
    scores = [simcore.play(game, game.game.reference, years=float(YEARS), seed=s).score for s in (0, 1000)]
    assert evaluation["status"] == "ok" and evaluation["score"] == sum(scores) / 2
    idle = [simcore.play(game, simcore.seat.idle, years=float(YEARS), seed=s).score for s in (0, 1000)]
    assert evaluation["score"] > sum(idle) / 2


def test_the_grammar_bids_on_the_compute_price_with_a_limit() -> None:
    market = market_of(context_for(simcore.load_scenario("resource_economy")))
    assert (market.key, market.buy, market.sell, market.signal) == ("econ", "buy_compute", None, "price")
    assert (market.token, market.quote, market.limit) == ("UTIL", "USD", True)
