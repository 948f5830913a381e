"""`evolver games`, `evolver reference` and the share `evolver evaluate` shows: the numbers are simcore's own."""

from __future__ import annotations

import json

from test_cli import invoke, ok

from simcore import load_scenario, play
from simcore.optimum import idle_score, optimum_of
from simcore.references import threshold_reference

PLAYER = """def fn(i, v, r, s, p):
    if v["price"] < 0.9 and v["wallet"]["USDC"] > 5:
        p.dex.buyA(3)
    elif v["price"] > 1.0 and v["wallet"]["AI"] >= 3:
        p.dex.sellA(3)
"""


def test_games_lists_every_kind_the_issue_asks_for() -> None:
    rows = {line.split("│")[1].strip(): line for line in ok("games").output.splitlines() if line.count("│") > 3}
    assert "deterministic" in rows["ai3_plugins"] and "exact" in rows["ai3_plugins"]
    assert "randomised hidden" in rows["hidden_bots"] and "exact" in rows["hidden_bots"]
    assert "randomised hidden" in rows["noisy_market"] and "lower bound" in rows["noisy_market"]
    assert "arena" in rows["arena"] and " 2 " in rows["arena"] and " 4 " in rows["arena4"]
    assert "1000, 1001" in rows["hidden_bots"]


def test_reference_prints_each_seeds_optimum_idle_score_and_reference_player(tmp_path) -> None:
    out = tmp_path / "ref.json"
    result = ok("reference", "hidden_bots", "--seed", "3", "--seed", "1000", "--json", out)
    assert "exact" in result.output and "Reference of hidden_bots" in result.output
    scenario = load_scenario("hidden_bots")
    for row in json.loads(out.read_text()):
        seed = row["seed"]
        assert row["optimum"] == optimum_of(scenario, seed).value and row["exact"] is True
        assert row["idle"] == idle_score(scenario, seed)
        assert row["reference"] == play(scenario, threshold_reference, seed=seed).score
        assert row["share"] == (row["reference"] - row["idle"]) / (row["optimum"] - row["idle"])


def test_reference_of_a_scenario_without_a_slot_says_it_is_no_game() -> None:
    result = invoke("reference", "ai3_quickstart")
    assert result.exit_code == 2 and "not a game" in result.output


def test_evaluate_shows_the_share_of_the_optimum_profit(tmp_path) -> None:
    player = tmp_path / "player.py"
    player.write_text(PLAYER)
    namespace: dict = {}
    exec(PLAYER, namespace)  # trusted here: the test's own player
    scenario = load_scenario("hidden_bots")
    seeds = (1, 3)
    scores = [play(scenario, namespace["fn"], seed=seed).score for seed in seeds]
    idle = [idle_score(scenario, seed) for seed in seeds]
    best = [optimum_of(scenario, seed).value for seed in seeds]
    share = (sum(scores) - sum(idle)) / (sum(best) - sum(idle))
    result = ok("evaluate", "hidden_bots", player, "--seed", "1", "--seed", "3")
    assert f"share: {share * 100:.1f} % of the optimum profit" in result.output
    assert "share:" not in ok("evaluate", "vc_unlock", player).output  # no optimum known


def test_reference_refuses_what_it_cannot_solve_soon() -> None:
    result = invoke("reference", "ai3_plugins", "--years", "49")
    assert result.exit_code == 2 and "49 seed-years" in result.output and "at most 20" in result.output
    assert invoke("reference", "hidden_bots", "--seed", "-1").exit_code == 2


def test_evaluate_plays_the_games_training_seeds_by_default(tmp_path) -> None:
    player = tmp_path / "player.py"
    player.write_text(PLAYER)
    out = tmp_path / "eval.json"
    result = ok("evaluate", "hidden_bots", player, "--json", out)
    assert "seeds 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 " in result.output and "share:" in result.output
    assert json.loads(out.read_text())["seeds"] == list(range(10))
    assert json.loads(ok("evaluate", "ai3_plugins", player, "--json", out) and out.read_text())["seeds"] == [0]
