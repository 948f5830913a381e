"""`evolver evolve wsloop`: a DAO policy for TokenSPICE's loop, evolved offline (local:gp) through the real CLI,
sandbox and store, exported and re-scored; `simulate wsloop` stays the netlist's."""

from __future__ import annotations

import ast
import json
import math

from test_cli import invoke, ok, table_row

import simcore
from evolver.prompting import context_for
from evolver.providers.grammar import market_of
from evolver.report import format_number
from evolver.store import Store


def test_evolve_wsloop_evolves_a_policy_that_export_and_evaluate_reproduce(tmp_path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'e.db'}"
    monkeypatch.setenv("EVOLVER_DATABASE_URL", url)
    assert "job 1: done" in ok("evolve", "wsloop", "--generations", "2").output
    best = Store(url).best(1, "max")
    assert best is not None and math.isfinite(best.score) and best.score > 0
    player, report = tmp_path / "player.py", tmp_path / "eval.json"
    ok("export", "--job", "1", "--best", "-o", player)
    calls = {node.func.attr for node in ast.walk(ast.parse(player.read_text())) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Attribute)}  # fmt: skip
    assert calls & {"fund", "grant", "burn", "retire"}
    ok("evaluate", "wsloop", player, "--json", report)
    assert json.loads(report.read_text())["score"] == best.score


def test_the_grammar_pays_into_the_seat_by_what_each_action_pays() -> None:
    market = market_of(context_for(simcore.load_scenario("wsloop")))
    assert (market.token, market.quote, market.signal) == ("OCEAN", "USD", "price")
    assert market.payments == (("burn", "fund"), ("grant", "retire"))


def test_the_reference_is_the_pass_through_and_scenarios_lists_wsloop_once() -> None:
    game = simcore.load_scenario("wsloop")
    passed = simcore.play(game, game.game.reference).score
    assert table_row(ok("reference", "wsloop").output, "0")[5] == format_number(passed)
    row = table_row(ok("scenarios").output, "wsloop")
    assert row[1].startswith("(netlist)")
    assert sum(line.startswith("│ wsloop ") for line in ok("scenarios").output.splitlines()) == 1
    assert invoke("simulate", "wsloop", "--player", "p.py").exit_code == 2  # simulate runs the netlist
