"""The prompts: a ProposalContext built from a scenario's slot, and the chat messages rendered from `prompts/`.

The templates are data (Jinja2 files in this package's `prompts/` directory, shipped as package data), so they can
be read and changed without touching code. The system message describes the world (scenario, the player's view,
actions, wallet, sandbox rules, the answer's format); the user message gives the op's task: the goal and the comp,
and the code to start from (improve), to beat (beat) or to fix (repair).

Improve and beat also show what the parent's training runs showed (its score per seed, its refused actions by
reason, its first seed's run in periods) and a few other players from the archive; every op with code to start
from lets the reply edit it by SEARCH/REPLACE blocks (evolver/extract.py). A prompt is kept within
MAX_PROMPT_TOKENS (estimated: `estimate_tokens`) by showing less of that feedback, in a fixed order: the
inspirations (the last first), then the run's periods (merged in pairs, then none), then the seeds' rows (halved,
then none). The goal, the rules and the code to start from or to beat are never cut: two players near the code
size cap are over the budget with nothing else shown.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from evolver.comp import parse_comp
from evolver.providers.base import OPS, ProposalContext
from simcore import Scenario, ScenarioError, Slot, compute, day_count
from simcore.markets import by_letter, market_type
from simcore.seat import MAX_SCRATCH_KEYS
from simcore.variables import readers_of

PROMPTS = Path(__file__).resolve().parent / "prompts"
"""The template directory: `evolver/prompts/`, package data (so a wheel install finds it as a checkout does)."""

Scored = tuple[str, float | None]  # a player's code and its score (None when it has none, e.g. a failed one)

MAX_SEEDS_SHOWN = 12  # of a parent's results per training seed, a prompt shows at most this many
MAX_INSPIRATIONS = 3  # other players from the archive a prompt shows at most
MAX_PROMPT_TOKENS = 12_000  # the system and user messages together, as `estimate_tokens` counts them
_PIECES = re.compile(r"\w+|[^\w\s]")
_VARIABLE = re.compile(r"`v\['(\w+)'\]`")  # a variable a market's summary names, as the player reads it

REQUIRED = {"improve": ("parent_code",), "beat": ("target_code",), "repair": ("parent_code", "error")}
"""The context fields each op's template shows; a missing one is the caller's mistake."""


def context_for(
    scenario: Scenario,
    *,
    parent: Scored | None = None,
    target: Scored | None = None,
    error: str | None = None,
    error_line: int | None = None,
    parent_seeds: Sequence[tuple[int, Mapping[str, float]]] = (),
    trials: Sequence[tuple[tuple[float, ...], float]] = (),
    parent_feedback: Mapping[str, Any] | None = None,
    inspirations: Sequence[Scored] = (),
    diffs: bool = True,
) -> ProposalContext:
    """The structured context of one proposal: the slot's facts, plus the parent, the target and the last error.

    `parent` is the player to start from (improve, repair; for beat, the model's own best), `target` the one to
    beat, `parent_seeds` the parent's metrics on each training seed and `parent_feedback` what those runs showed
    (`simcore.feedback`; never of a held-out seed), `inspirations` other players from the archive. With `diffs` the
    reply may edit the parent (else the target), when there is one, by SEARCH/REPLACE blocks. A scenario without a
    slot raises simcore's ScenarioError. `trials` are the parent's skeleton's (evolver/tuning.py), for `local:gp`.
    """
    slot = _slot(scenario)
    parent_code, parent_score = parent or (None, None)
    target_code, target_score = target or (None, None)
    return ProposalContext(
        scenario=scenario.name,
        goal=slot.goal,
        comp=slot.comp,
        direction=slot.direction,
        observables=(*(key for key in scenario.variables if key not in slot.hidden), *slot.observe, "wallet"),
        actions=dict(slot.actions),
        wallet=dict(slot.wallet),
        max_actions_per_day=slot.max_actions_per_day,
        days=day_count(scenario.years),
        observed=tuple(key for key, path in slot.observe.items() if path.split(".")[0] not in scenario.plugins),
        kinds={key: scenario.plugins[key].kind for key in slot.actions},
        tickers={key: _tickers(scenario, key) for key in slot.actions},
        parent_code=parent_code,
        parent_score=parent_score,
        target_code=target_code,
        target_score=target_score,
        error=error,
        error_line=error_line,
        parent_seeds=tuple((seed, dict(metrics)) for seed, metrics in parent_seeds),
        trials=tuple(trials),
        parent_feedback=None if parent_feedback is None else dict(parent_feedback),
        inspirations=tuple((code, score) for code, score in inspirations),
        diffs=diffs and (parent or target) is not None,
    )


def render(
    op: str, scenario: Scenario, context: ProposalContext, *, goal: str | None = None, comp: str | None = None
) -> tuple[dict[str, str], ...]:
    """The chat messages `[system, user]` for `op`, within MAX_PROMPT_TOKENS as far as trimming the feedback can
    keep them (the module's docstring says in which order).

    `goal` and `comp` (a comp text: `usdc`, `min:refused`, `fn:NAME`) override the slot's when given (not empty).
    An unknown op, or a context without what the op shows (improve: a parent; beat: a target; repair: a parent
    and an error), raises ValueError; a comp the scenario does not know, evolver.comp.CompError.
    """
    if op not in OPS:
        raise ValueError(f"unknown op {op!r}; the prompts know {', '.join(OPS)}")
    missing = [name for name in REQUIRED.get(op, ()) if getattr(context, name) is None]
    if missing:
        raise ValueError(f"the {op} prompt needs the context's {' and '.join(missing)}; pass them to context_for")
    facts = _facts(scenario, op, context, goal or context.goal, comp or f"{context.direction}:{context.comp}")
    templates = environment()
    system = templates.get_template("system.j2").render(facts).strip()
    left = MAX_PROMPT_TOKENS - estimate_tokens(system)
    for trimmed in _trims(facts, _period_levels(scenario, context)):
        user = templates.get_template(f"{op}.j2").render(trimmed).strip()
        if estimate_tokens(user) <= left:
            break
    return {"role": "system", "content": system}, {"role": "user", "content": user}


def estimate_tokens(text: str) -> int:
    """A model's tokens in `text`, estimated on the high side for prose, code and numbers alike: the larger of a
    quarter of its characters and its count of words and punctuation marks."""
    return max(math.ceil(len(text) / 4), len(_PIECES.findall(text)))


def _trims(facts: dict[str, Any], periods: list[list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """`facts` as they are, then with less and less feedback: inspirations dropped (the last first), then the run's
    periods coarser (`periods`: each level merges the one before in pairs; the last level is none), then the seeds'
    rows halved down to none."""
    facts = {**facts, "periods": periods[0]}
    yield facts
    while facts["inspirations"]:
        facts = {**facts, "inspirations": facts["inspirations"][:-1]}
        yield facts
    for level in periods[1:]:
        facts = {**facts, "periods": level}
        yield facts
    while facts["parent_seeds"]:
        facts = {**facts, "parent_seeds": facts["parent_seeds"][: len(facts["parent_seeds"]) // 2]}
        yield facts


@functools.cache
def environment(directory: Path = PROMPTS) -> jinja2.Environment:
    """The templates of `directory`, strict: a field a template names but is not given raises UndefinedError."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = _shown
    return env


def _shown(value: Any) -> str:
    """A value as a model should read it: whole floats without `.0`, others to ten significant digits."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return repr(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value) if isinstance(value, int) else f"{value:.10g}"


def _brief(value: float) -> str:
    """A number in a summary: four significant digits, whole numbers from 1000 on (`46.73`, `0.9919`, `12346`)."""
    return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def _slot(scenario: Scenario) -> Slot:
    if scenario.slot is None:
        raise ScenarioError(
            f"scenario {scenario.name!r} has no slot for an evolved player; declare `slot` (a Slot or a dict) in it"
        )
    return scenario.slot


def _facts(scenario: Scenario, op: str, context: ProposalContext, goal: str, comp_text: str) -> dict[str, Any]:
    """Everything the templates show, as plain values (the run's periods apart: `_period_levels`)."""
    slot = _slot(scenario)
    comp = parse_comp(comp_text, scenario)
    return {
        "scenario": scenario,
        "days": day_count(scenario.years),
        "players": _players(scenario, slot),
        "variables": _variables(scenario),
        "observations": _observations(scenario, context),
        "markets": _markets(scenario, context),
        "wallet": context.wallet,
        "quote": slot.quote,
        "max_actions_per_day": context.max_actions_per_day,
        "max_amount": slot.max_amount,
        "max_scratch_keys": MAX_SCRATCH_KEYS,
        "metrics": slot.metric_names,
        "goal": goal,
        "comp": {
            "metric": comp.metric,
            "direction": comp.direction,
            "function": comp.text.removeprefix("fn:") if comp.function else None,
        },
        "parent": _code(context.parent_code, context.parent_score),
        "parent_seeds": _per_seed(context, comp.metric),
        "refusals": _refusals(context.parent_feedback),
        "periods_seed": (context.parent_feedback or {}).get("seed"),
        "inspirations": [_code(code, score) for code, score in context.inspirations[:MAX_INSPIRATIONS]],
        "target": _code(context.target_code, context.target_score),
        "error": None if context.error is None else _error(context),
        "edit": _editable(op, context),
    }


def _code(code: str | None, score: float | None) -> dict[str, Any] | None:
    """A player as a template shows it: its code without trailing blank lines, and its score (or None)."""
    return None if code is None else {"code": code.rstrip(), "score": score}


def _per_seed(context: ProposalContext, metric: str) -> list[dict[str, Any]]:
    """The parent's results on its first MAX_SEEDS_SHOWN training seeds: the comp's metric, trades and refusals."""
    shown = context.parent_seeds[:MAX_SEEDS_SHOWN]
    return [{"seed": seed, **{name: metrics.get(name) for name in ("actions", "refused")}, "score": metrics.get(metric)}
            for seed, metrics in shown]  # fmt: skip


def _refusals(feedback: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The parent's refused actions by reason over its training runs (`rows`; `others`: of other reasons; `runs`:
    how many runs), or None when none was refused (or nothing is known)."""
    if not feedback or not (feedback["refusals"] or feedback["others"]):
        return None
    return {"rows": feedback["refusals"], "others": feedback["others"], "runs": feedback["runs"]}


def _period_levels(scenario: Scenario, context: ProposalContext) -> list[list[dict[str, Any]]]:
    """The parent's first training run in periods as the templates show them, then coarser and coarser (neighbours
    merged in pairs), down to none: what `_trims` goes through."""
    periods = list((context.parent_feedback or {}).get("periods", ()))
    levels = []
    while periods:
        levels.append([_period(scenario, period) for period in periods])
        periods = [_merged(periods[n : n + 2]) for n in range(0, len(periods), 2)] if len(periods) > 1 else []
    return [*levels, []]


def _merged(periods: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Neighbouring periods as one: their days, trades and refusals added up, the last one's wallet and views."""
    trades: dict[str, list[float]] = {}
    for period in periods:
        for what, tally in period["trades"].items():
            total = trades.get(what, [0, 0.0, 0.0])
            trades[what] = [a + b for a, b in zip(total, tally, strict=True)]
    first, last = periods[0], periods[-1]
    refused = sum(period["refused"] for period in periods)
    return {**last, "days": [first["days"][0], last["days"][1]], "trades": trades, "refused": refused}


def _period(scenario: Scenario, period: Mapping[str, Any]) -> dict[str, Any]:
    """A period as a template shows it: `when` ("days 1-30", "day 61"), `trades` ("dex.buyA x3: 15 AI for 16.2 USDC;
    ..."), `refused`, `wallet` ("USDC 46.73, AI 5") and `seen` ("price 0.9919, ...")."""
    trades = "; ".join(_trade(scenario, what, *tally) for what, tally in period["trades"].items())
    first, last = period["days"]
    return {
        "when": f"day {first}" if first == last else f"days {first}-{last}",
        "trades": trades or "no actions",
        "refused": period["refused"],
        "wallet": ", ".join(f"{ticker} {_brief(amount)}" for ticker, amount in period["wallet"].items()),
        "seen": ", ".join(f"{name} {_brief(value)}" for name, value in period["seen"].items()),
    }


def _trade(scenario: Scenario, what: str, count: float, amount: float, other: float) -> str:
    """`dex.buyA x3: 15 AI for 16.2 USDC`: the action, how often, the amount it names and what it returned, in the
    tickers its market says they count (`Market.units`)."""
    key, _, action = what.partition(".")
    shown = f"{what} x{count:g}: {_brief(amount)}"
    spec = scenario.plugins.get(key)
    market = None if spec is None else type(spec).market
    if market is None:
        return shown
    named, returned = market.units(action, market.tickers_of(spec, scenario.plugins))
    if not named:  # its amount counts nothing worth summing (an order's id)
        return f"{what} x{count:g}"
    return f"{shown} {named}" + (f" for {_brief(other)} {returned}" if returned else "")


def _editable(op: str, context: ProposalContext) -> str | None:
    """What the reply's SEARCH/REPLACE blocks would edit, in the task's words; None when it must give the whole code
    (init, or a context that allows no diffs)."""
    if op == "init" or not context.diffs:
        return None
    if op == "beat":
        return "your own best player" if context.parent_code is not None else "the player to beat"
    return "your best player" if op == "improve" else "the failed player"


def _error(context: ProposalContext) -> dict[str, Any]:
    """The failed player's error, with the text of the line it names (when the line is in the code)."""
    lines = (context.parent_code or "").splitlines()
    line = context.error_line
    text = lines[line - 1].strip() if line is not None and 0 < line <= len(lines) else None
    return {"message": context.error, "line": line, "text": text}


def _players(scenario: Scenario, slot: Slot) -> list[dict[str, Any]]:
    """The day's players in order, the evolved one (`you`) at its seat."""
    players = [{"key": p.key, "desc": p.desc, "you": False} for p in scenario.players]
    seat = len(players) if slot.position is None else slot.position
    players.insert(seat, {"key": slot.key, "desc": "", "you": True})
    return players


def _variables(scenario: Scenario) -> list[dict[str, Any]]:
    """Each variable the player sees (none of the slot's hidden ones) with its value in the player's `v` (None when
    it needs the run's state or is drawn per seed: `random`) and what it means."""
    variables, hidden = scenario.variables, _slot(scenario).hidden
    values = compute(variables)
    drawn = {key for key, variable in variables.items() if variable.draw is not None}
    random = drawn | readers_of(variables, drawn)
    return [
        {
            "key": key,
            "name": variable.name if variable.name != key else "",
            "desc": variable.desc,
            "unit": variable.display.get("type"),
            "formula": variable.display.get("calc"),
            "value": values[key],
            "random": key in random,
        }
        for key, variable in variables.items()
        if key not in hidden
    ]


def _observations(scenario: Scenario, context: ProposalContext) -> list[dict[str, Any]]:
    """The observables that are the slot's observations, with where each is read from: a plugin's state (`plugin`,
    its `kind`, the `path` in its `v`, and whether the player holds its handle), the scenario's state (`path`
    only), or a scenario function (neither)."""
    observe = _slot(scenario).observe
    rows = []
    for name in context.observables:
        if name in scenario.variables or name == "wallet":
            continue
        source = observe.get(name)
        parts = source.split(".") if isinstance(source, str) else []
        plugin = parts.pop(0) if parts and parts[0] in scenario.plugins else None
        kind = scenario.plugins[plugin].kind if plugin else None
        rows.append({"name": name, "plugin": plugin, "kind": kind, "yours": plugin in context.actions, "path": parts})
    return rows


def _tickers(scenario: Scenario, key: str) -> tuple[str, ...]:
    """The tickers the market `key` trades, in its order."""
    spec = scenario.plugins[key]
    return market_type(key, spec).tickers_of(spec, scenario.plugins)


def _markets(scenario: Scenario, context: ProposalContext) -> list[dict[str, Any]]:
    """The markets the player may act on, described by their protocol (`simcore.markets`): what each is (its
    `summary`, a hidden variable it names replaced by a hint to infer it) and its actions with their parameters."""
    plugins, hidden = scenario.plugins, _slot(scenario).hidden
    markets = []
    for key, actions in context.actions.items():
        market = market_type(key, plugins[key])
        tickers = by_letter(market.tickers_of(plugins[key], plugins))  # {a}, {b}, {c}, ...: the tickers in order
        summary = _VARIABLE.sub(
            lambda found: "(hidden: infer it from play)" if found[1] in hidden else found[0],
            market.summary.format(key=key, **tickers),
        )
        described = [
            {"name": name, "params": market.actions[name].params, "doc": market.actions[name].doc.format(**tickers)}
            for name in actions
        ]
        markets.append({"key": key, "kind": plugins[key].kind, "summary": summary, "actions": described})
    return markets
