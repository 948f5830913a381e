"""Each slot market traded by an evolved player, end to end and offline: `evolver evolve` with the default model
(`local:gp`) on a temp SQLite store, the best player exported, and `evolver evaluate` (the sandbox, in other
processes) scoring the exported file to exactly the stored score. The dex is covered by `test_job.py`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_cli import invoke

import simcore
from evolver.store import Store


def ok(*args: str | Path) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize(("scenario", "market"), [("bonding_curve", "bond"), ("orderbook", "orderbook")])
def test_an_offline_job_trades_the_market_and_its_exported_best_rescores_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scenario: str, market: str
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("EVOLVER_DATABASE_URL", url)
    monkeypatch.setenv("EVOLVER_SANDBOX_WORKERS", "1")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert "job 1: done" in ok("evolve", scenario, "--generations", "3")

    store = Store(url)
    best = store.best(1, "max")
    store.close()
    assert best is not None and best.status == "ok" and best.model_id == "local:gp"
    assert best.score is not None and best.metrics["actions"] > 0  # it traded

    player = tmp_path / "player.py"
    ok("export", "--job", "1", "--best", "-o", player)
    code = player.read_text()
    loaded = simcore.load_scenario(scenario)
    assert loaded.slot is not None and loaded.game is not None
    actions = "|".join(loaded.slot.actions[market])
    assert re.search(rf"p\['{market}'\]\.({actions})\(", code), code

    out = tmp_path / "evaluation.json"
    ok("evaluate", scenario, player, "--json", out)
    evaluation = json.loads(out.read_text())
    assert evaluation["status"] == "ok" and evaluation["seeds"] == list(loaded.game.train)
    assert evaluation["score"] == best.score  # bit for bit, in other processes
    assert evaluation["metrics"] == best.metrics
