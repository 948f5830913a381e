"""The prompts: the context built from a slot, and the messages rendered from the real templates in evolver/prompts/."""

import functools
import re
import types
from dataclasses import replace

import jinja2
import pytest

from evolver.prompting import (
    MAX_PROMPT_TOKENS,
    MAX_SEEDS_SHOWN,
    PROMPTS,
    context_for,
    environment,
    estimate_tokens,
    render,
)
from evolver.providers.base import OPS, ProposalContext
from simcore import Scenario, ScenarioError, load_scenario

PARENT = "def fn(i, v, r, s, p):\n    r['n'] = r.get('n', 0) + 1\n    return 100 / (r['n'] - 3)\n"
TARGET = "def fn(i, v, r, s, p):\n    if v['price'] < 0.4:\n        p['dex'].buyA(5)\n"
ERROR = "ZeroDivisionError: division by zero"

SMALL = '''"""One pool and no background players."""

vars = {"__plugins__": {"dex": {"type": "dex", "tokenA": "AI", "tokenB": "USDC", "liquidityA": 100, "liquidityB": 50}}}

slot = {
    "goal": "Buy AI cheaply.",
    "comp": "ai",
    "wallet": {"USDC": 10, "AI": 0},
    "actions": {"dex": ("buyA",)},
    "max_actions_per_day": 3,
    "max_amount": 20,
}


def closer(old, new):
    return 1
'''


@pytest.fixture(scope="module", params=["ai3_plugins", "vc_unlock"])
def scenario(request):
    return load_scenario(request.param)


def full_context(scenario):
    return context_for(scenario, parent=(PARENT, 12.5), target=(TARGET, 61.75), error=ERROR, error_line=3)


def test_the_context_holds_the_slot_facts():
    scenario = load_scenario("ai3_plugins")
    context = context_for(scenario, parent=(PARENT, 12.5), target=(TARGET, None), error=ERROR, error_line=3)
    assert context.scenario == "ai3_plugins" and context.goal == scenario.slot.goal
    assert (context.comp, context.direction) == ("usdc", "max")
    assert context.wallet == {"USDC": 50.0, "AI": 0.0}
    assert context.actions == {"dex": ("buyA", "sellA", "buyB", "sellB")}
    assert context.max_actions_per_day == 10
    assert context.observables[-6:] == ("price", "ai_liquidity", "usdc_liquidity", "total_buy", "total_sell", "wallet")
    assert set(scenario.variables) < set(context.observables)
    assert (context.parent_code, context.parent_score) == (PARENT, 12.5)
    assert (context.target_code, context.target_score) == (TARGET, None)
    assert (context.error, context.error_line) == (ERROR, 3)


def test_a_scenario_without_a_slot_is_a_scenario_error():
    with pytest.raises(ScenarioError, match="no slot"):
        context_for(load_scenario("ai3_quickstart"))


@pytest.mark.parametrize("op", OPS)
def test_every_op_renders_a_system_and_a_user_message(scenario, op):
    messages = render(op, scenario, full_context(scenario))
    assert [m["role"] for m in messages] == ["system", "user"]
    for message in messages:
        text = message["content"]
        assert not any(mark in text for mark in ("{{", "}}", "{%", "%}", "{#", "#}")), "unrendered Jinja"
        assert "\n\n\n" not in text and text == text.strip()
    assert "exactly ONE ```python code block" in messages[0]["content"]
    assert "exactly ONE ```python code block" in messages[1]["content"]
    assert scenario.slot.goal in messages[1]["content"]


def test_the_system_message_shows_the_world(scenario):
    system = render("init", scenario, context_for(scenario))[0]["content"]
    slot = scenario.slot
    assert f"## The scenario: {scenario.name}" in system and scenario.description in system
    assert "def fn(i, v, r, s, p)" in system
    for name in slot.observe:
        assert f"`v['{name}']`" in system
    for player in scenario.players:
        assert f"- {player.key}: {player.desc}" in system
    for action, what in [("buyA", "buy `amount` AI"), ("sellA", "sell `amount` AI"), ("buyB", "buy `amount` USDC")]:
        assert f"`p['dex'].{action}(amount)`: {what}" in system
    assert f"at most {slot.max_actions_per_day} actions a day" in system
    assert "0 < x <= 1000000000" in system
    assert "it returns 0.0" in system
    assert "no imports except `import math`; no classes; no names or attributes starting with `_`" in system
    assert "`v['wallet']`" in system
    for metric in slot.metric_names:
        assert f"- `{metric}`:" in system


def test_the_variables_show_their_values_before_the_run():
    plugins = render("init", load_scenario("ai3_plugins"), context_for(load_scenario("ai3_plugins")))[0]["content"]
    assert "- `v['dex_k']` = 5000: DEX K, = dex_ai_il * dex_usdc_il" in plugins
    assert "- `v['dex_ai_il']` = 100: DEX $AI Initial Liquidity, in AI" in plugins
    assert "- `v['iaip']` = 0.5: Initial $AI Price" in plugins
    assert "- `v['buy']`: Total $AI Buy" in plugins  # None before the run: listed apart
    assert "`v['wallet']` starts as {'USDC': 50, 'AI': 0}" in plugins
    assert "runs for 365 days" in plugins
    vesting = render("init", load_scenario("vc_unlock"), context_for(load_scenario("vc_unlock")))[0]["content"]
    assert "- `v['seed_s']` = 20000: Seed Sales, = seed_p / 100 * seed_v" in vesting
    assert "`v['wallet']` starts as {'USDC': 1000, 'AI': 0}" in vesting
    assert "runs for 730 days" in vesting
    assert "- `v['vc_unlocked']`: `unlocked` of the vc plugin `seed` at your turn (you have no handle on it)" in vesting
    assert "- `v['price']`: `p['dex'].v['pa']` at your turn" in vesting


def test_improve_shows_the_parent(scenario):
    user = render("improve", scenario, full_context(scenario))[1]["content"]
    assert f"Your best player so far scores 12.5:\n```python\n{PARENT.rstrip()}\n```" in user
    assert TARGET.rstrip() not in user


def test_beat_shows_the_target_and_the_models_own_best(scenario):
    user = render("beat", scenario, full_context(scenario))[1]["content"]
    assert f"Another model's player scores 61.75:\n```python\n{TARGET.rstrip()}\n```" in user
    assert f"Your own best so far scores 12.5:\n```python\n{PARENT.rstrip()}\n```" in user
    alone = render("beat", scenario, context_for(scenario, target=(TARGET, 61.75)))[1]["content"]
    assert TARGET.rstrip() in alone and "Your own best" not in alone


def test_repair_shows_the_error_and_its_line(scenario):
    context = context_for(scenario, parent=(PARENT, None), error=ERROR, error_line=3)
    user = render("repair", scenario, context)[1]["content"]
    assert f"This player failed at line 3:\n```python\n{PARENT.rstrip()}\n```" in user
    assert f"Error: {ERROR}\nLine 3: `return 100 / (r['n'] - 3)`" in user
    beyond = context_for(scenario, parent=(PARENT, None), error="InvalidAction: at most 10 actions a day")
    assert "Line " not in render("repair", scenario, beyond)[1]["content"]


def test_the_jobs_goal_and_comp_override_the_slots(scenario):
    user = render("init", scenario, context_for(scenario), goal="Hold as much AI as you can.", comp="min:refused")[1]
    assert "Hold as much AI as you can." in user["content"] and scenario.slot.goal not in user["content"]
    assert "Your score is the metric `refused` at the end of the run: minimise it (lower is better)." in user["content"]
    default = render("init", scenario, context_for(scenario))[1]["content"]
    assert "Your score is the metric `usdc` at the end of the run: maximise it (higher is better)." in default


def test_a_small_slot_shows_only_what_it_allows(tmp_path):
    path = tmp_path / "small.py"
    path.write_text(SMALL)
    scenario = load_scenario(path)
    system, user = (m["content"] for m in render("init", scenario, context_for(scenario), comp="fn:closer"))
    assert "`p['dex'].buyA(amount)`" in system and "sellA" not in system
    assert "0 < x <= 20, and you may take at most 3 actions a day" in system
    assert "- none: the scenario observes nothing beyond its variables and your wallet" in system
    assert "Each day the players act in this order:\n- you (your `fn`)\n" in system
    assert "compared by the scenario's function `closer`; the score shown is the metric `ai`" in user


def test_unknown_ops_and_missing_fields_are_refused():
    scenario = load_scenario("ai3_plugins")
    with pytest.raises(ValueError, match="unknown op 'mutate'"):
        render("mutate", scenario, context_for(scenario))
    with pytest.raises(ValueError, match="improve prompt needs the context's parent_code"):
        render("improve", scenario, context_for(scenario))
    with pytest.raises(ValueError, match="repair prompt needs the context's parent_code and error"):
        render("repair", scenario, context_for(scenario))
    with pytest.raises(ValueError, match="beat prompt needs the context's target_code"):
        render("beat", scenario, context_for(scenario, parent=(PARENT, 1.0)))


def test_rendering_is_strict_about_missing_fields():
    assert environment().loader.searchpath == [str(PROMPTS)]
    with pytest.raises(jinja2.UndefinedError, match="'parent' is undefined"):
        environment().get_template("improve.j2").render(
            goal="g", comp={"function": None, "metric": "usdc", "direction": "max"}
        )
    with pytest.raises(jinja2.UndefinedError):
        environment().get_template("system.j2").render()


HIDDEN_GAMES = ("hidden_bots", "noisy_market", "arena", "arena4")


@pytest.mark.parametrize("name", HIDDEN_GAMES)
def test_hidden_variables_are_in_no_prompt_nor_the_models_context(name):
    scenario = load_scenario(name)
    hidden = scenario.slot.hidden
    context = context_for(scenario, parent=("def fn(i, v, r, s, p):\n    pass\n", 50.0))
    assert not set(hidden) & set(context.observables)
    for op in ("init", "improve"):
        text = "\n".join(message["content"] for message in render(op, scenario, context))
        assert not [key for key in hidden if f"'{key}'" in text or f"`{key}`" in text], op
        assert "buy_size" not in text and "sell_above" not in text


def test_a_visible_random_variable_is_shown_as_drawn_per_run():
    module = types.ModuleType("shown", "A scenario with a random variable the player sees.")
    module.__dict__.update(
        vars={"x": {"name": "Shown", "draw": lambda rng: rng.random()}},
        plugins={"dex": {"type": "dex", "tokenA": "AI", "tokenB": "USDC", "liquidityA": 100, "liquidityB": 50}},
        slot={"goal": "g", "comp": "usdc", "wallet": {"USDC": 5, "AI": 0}, "actions": {"dex": ("buyA",)}},
    )
    scenario = load_scenario(module)
    system = render("init", scenario, context_for(scenario))[0]["content"]
    assert "drawn afresh for every run" in system and "`v['x']`: Shown" in system


def test_improve_and_beat_show_the_parents_results_on_each_training_seed():
    scenario = load_scenario("ai3_plugins")
    seeds = [(seed, {"usdc": 50.0 + seed / 4, "actions": float(seed), "refused": 1.0}) for seed in range(20)]
    parent = ("def fn(i, v, r, s, p):\n    pass\n", 51.0)
    improve = render("improve", scenario, context_for(scenario, parent=parent, parent_seeds=seeds))[1]["content"]
    assert "- seed 0: 50; 0 actions; 1 refused" in improve and "- seed 11: 52.75; 11 actions; 1 refused" in improve
    assert "seed 12:" not in improve  # at most MAX_SEEDS_SHOWN rows
    beat = render("beat", scenario, context_for(scenario, parent=parent, target=parent, parent_seeds=seeds[:1]))
    assert "- seed 0: 50; 0 actions; 1 refused" in beat[1]["content"]
    assert "On each seeded run" not in render("improve", scenario, context_for(scenario, parent=parent))[1]["content"]


# Feedback: the parent's refusals and its run in periods, inspirations, diffs, and the budget (issue 15)

FEEDBACK = {
    "runs": 3,
    "seed": 4,
    "refusals": [{"reason": "dex.buyA: not enough USDC", "count": 17, "runs": 2, "seed": 4, "day": 40}],
    "others": 3,
    "periods": [
        {"days": [1, 30], "trades": {"dex.buyA": [3, 15.0, 16.25], "dex.sellA": [1, 5.0, 6.5]}, "refused": 0,
         "wallet": {"USDC": 40.25, "AI": 10.0}, "seen": {"price": 1.23456789, "ai_liquidity": 1234.5678}},
        {"days": [31, 60], "trades": {}, "refused": 2, "wallet": {"USDC": 40.25, "AI": 10.0}, "seen": {"price": 0.9}},
        {"days": [61, 61], "trades": {"dex.buyB": [1, 2.0, 2.2]}, "refused": 1, "wallet": {"USDC": 42.25, "AI": 7.8},
         "seen": {}},
    ],
}  # fmt: skip


def test_improve_and_beat_show_the_parents_refusals_its_run_in_periods_and_inspirations():
    scenario = load_scenario("ai3_plugins")
    parent, other = ("def fn(i, v, r, s, p):\n    pass\n", 51.0), ("def fn(i, v, r, s, p):\n    return 1\n", None)
    context = context_for(scenario, parent=parent, parent_feedback=FEEDBACK, inspirations=[(TARGET, 61.75), other])
    expected = (
        "Its refused actions on those runs, by reason:\n"
        "- dex.buyA: not enough USDC: 17 times, on 2 of 3 runs (first on day 40 of seed 4)\n"
        "- other reasons: 3 times\n\n"
        "Its run on seed 4, period by period (actions taken; refused; wallet at the end; what it saw on the last "
        "day):\n"
        "- days 1-30: dex.buyA x3: 15 AI for 16.25 USDC; dex.sellA x1: 5 AI for 6.5 USDC; 0 refused; wallet USDC "
        "40.25, AI 10; price 1.235, ai_liquidity 1235\n"
        "- days 31-60: no actions; 2 refused; wallet USDC 40.25, AI 10; price 0.9\n"
        "- day 61: dex.buyB x1: 2 USDC for 2.2 AI; 1 refused; wallet USDC 42.25, AI 7.8\n\n"
        "Other players from the archive, for ideas:\n"
        f"One that scores 61.75:\n```python\n{TARGET.rstrip()}\n```\n"
        f"One not scored:\n```python\n{other[0].rstrip()}\n```\n\n"
    )
    for op, shown in (("improve", context), ("beat", replace(context, target_code=TARGET, target_score=61.75))):
        user = render(op, scenario, shown)[1]["content"]
        assert expected in user, op
        assert "Error:" not in user  # improve and beat show nothing of errors
    alone = render("beat", scenario, context_for(scenario, target=(TARGET, 1.0), parent_feedback=FEEDBACK))[1]
    assert "Its refused" not in alone["content"]  # a beat without its own best has no parent's runs to show
    assert "SEARCH/REPLACE blocks that edit the player to beat above" in alone["content"]


def test_every_op_with_code_to_start_from_offers_diffs_and_init_and_a_failed_diff_do_not():
    scenario = load_scenario("ai3_plugins")
    offer = "<<<<<<< SEARCH\nexact lines from the current code\n=======\nthe new lines\n>>>>>>> REPLACE\n"
    edits = {"improve": "your best player", "beat": "your own best player", "repair": "the failed player"}
    for op, edited in edits.items():
        user = render(op, scenario, full_context(scenario))[1]["content"]
        assert f"SEARCH/REPLACE blocks that edit {edited} above; nothing else. A block is:\n{offer}" in user
    whole = "Reply with exactly ONE ```python code block defining `fn(i, v, r, s, p)`, and nothing else."
    assert render("init", scenario, context_for(scenario))[1]["content"].endswith(whole)
    failed = context_for(scenario, parent=(PARENT, None), error="SEARCH/REPLACE block 1 ...", diffs=False)
    assert render("repair", scenario, failed)[1]["content"].endswith(whole)


def long_code(tag: str, lines: int) -> str:
    body = "".join(f"    r['{tag}{k}'] = v['price'] * {k} + 0.123456789  # keep {tag}\n" for k in range(lines))
    return f"def fn(i, v, r, s, p):\n{body}"


def worst_case(parent_lines: int, inspiration_lines: int = 150) -> ProposalContext:
    """Many seeds, every refusal kind a seat keeps, twelve busy periods, three long inspirations."""
    seeds = [(seed, {"usdc": 50.123456789 + seed, "actions": 365.0, "refused": 99.0}) for seed in range(1000)]
    reasons = [
        f"dex.{action}: not enough {ticker}" for action in ("buyA", "sellA", "buyB") for ticker in ("AI", "USDC")
    ]
    refusals = [{"reason": reason, "count": 99, "runs": 1000, "seed": 0, "day": 1} for reason in reasons[:5]]
    trades = {f"dex.{action}": [10, 123.456789, 234.567891] for action in ("buyA", "sellA", "buyB", "sellB")}
    seen = {name: 1234.56789 for name in ("price", "ai_liquidity", "usdc_liquidity", "total_buy", "total_sell")}
    periods = [
        {"days": [30 * k + 1, 30 * k + 30], "trades": trades, "refused": 9, "wallet": {"USDC": 1.5, "AI": 2.5},
         "seen": seen}
        for k in range(12)
    ]  # fmt: skip
    feedback = {"runs": 1000, "seed": 0, "refusals": refusals, "others": 12345, "periods": periods}
    inspirations = [(long_code(f"i{n}", inspiration_lines), 40.0 + n) for n in range(3)]
    return context_for(
        ai3(), parent=(long_code("p", parent_lines), 51.0), target=(long_code("t", parent_lines), 52.0),
        parent_seeds=seeds, parent_feedback=feedback, inspirations=inspirations,
    )  # fmt: skip


@functools.cache
def ai3() -> Scenario:
    return load_scenario("ai3_plugins")


@functools.cache
def shown(op: str, parent_lines: int) -> tuple[int, int, int, int]:
    """The worst case's prompt: its estimated tokens, and how many inspirations, periods and seeds' rows it shows."""
    system, user = (message["content"] for message in render(op, ai3(), worst_case(parent_lines)))
    tokens = estimate_tokens(system) + estimate_tokens(user)
    return tokens, user.count("One that scores"), len(re.findall(r"^- days? \d", user, re.M)), user.count("\n- seed ")


@pytest.mark.parametrize("op", ["improve", "beat"])
def test_a_worst_case_prompt_keeps_to_the_budget_trimming_in_the_stated_order(op):
    """Longer and longer players to start from (and to beat): the prompt keeps to the budget by dropping the
    inspirations first, then merging the run's periods, then the seeds' rows; only when the code alone is over
    the budget is it over, with nothing of the feedback left."""
    assert render(op, ai3(), worst_case(10, 10))[1]["content"].count("One that scores") == 3  # all of it fits
    sizes = range(0, 700, 20)
    for lines in sizes:
        tokens, inspirations, periods, seeds = shown(op, lines)
        assert tokens <= MAX_PROMPT_TOKENS or (inspirations, periods, seeds) == (0, 0, 0), lines
        assert periods == 12 or inspirations == 0, lines  # no period merged while an inspiration is shown
        assert seeds == MAX_SEEDS_SHOWN or periods == 0, lines  # no seed dropped while a period is shown
    states = [shown(op, lines)[1:] for lines in sizes]
    assert (3, 12, MAX_SEEDS_SHOWN) not in states  # the inspirations are too long to show all three
    assert any(0 < inspirations < 3 for inspirations, _, _ in states)
    assert any(0 < periods < 12 for _, periods, _ in states)
    assert shown(op, sizes[-1])[0] > MAX_PROMPT_TOKENS  # the code alone is over the budget
    # the seeds' rows go last: between the last size showing periods and the first showing no seed, some are shown
    band = range(max(n for n in sizes if shown(op, n)[2]), min(n for n in sizes if not shown(op, n)[3]))
    assert any(0 < shown(op, n)[3] < MAX_SEEDS_SHOWN and shown(op, n)[0] <= MAX_PROMPT_TOKENS for n in band)


def test_tokens_are_estimated_on_the_high_side():
    assert estimate_tokens("") == 0 and estimate_tokens("a" * 400) == 100
    assert estimate_tokens("p['dex'].buyA(5)") == 11  # a word or a mark each


MARKET_PROMPTS = {
    "bonding_curve": (
        "`p['bond']` is a bonding curve minting CURVE against a USDC reserve.",
        "- `p['bond'].spend(amount)`: spend `amount` USDC of yours on CURVE from the curve; returns the CURVE minted.",
        {"bond.buy": [2, 30.0, 1.5], "bond.spend": [1, 10.0, 250.0]},
        "bond.buy x2: 30 CURVE for 1.5 USDC; bond.spend x1: 10 USDC for 250 CURVE",
    ),
    "orderbook": (
        "`p['orderbook']` is an order book trading AI for USDC in one call auction a day",
        "- `p['orderbook'].bid(qty, limit)`: offer to buy `qty` AI at `limit` USDC each or less",
        {"orderbook.bid": [2, 10.0, 15.0], "orderbook.cancel": [1, 7.0, 5.0]},
        "orderbook.bid x2: 10 AI; orderbook.cancel x1; 0 refused",
    ),
}


@pytest.mark.parametrize("name", MARKET_PROMPTS)
def test_every_market_is_described_and_its_trades_told_from_its_protocol(name):
    """The curve's and the book's summaries, action signatures and feedback lines come from their Market classes
    (an order's id is no amount: a cancel shows only its count)."""
    summary, action, trades, told = MARKET_PROMPTS[name]
    scenario = load_scenario(name)
    period = {"days": [1, 30], "trades": trades, "refused": 0, "wallet": {"USDC": 1.0}, "seen": {}}
    feedback = {**FEEDBACK, "refusals": [], "others": 0, "periods": [period]}
    context = context_for(scenario, parent=("def fn(i, v, r, s, p):\n    pass\n", 1.0), parent_feedback=feedback)
    system, user = (message["content"] for message in render("improve", scenario, context))
    assert summary in system and action in system
    assert f"- days 1-30: {told}" in user
