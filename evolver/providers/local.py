"""The offline generators: `local:gp`, a search operator on player code, and `local:random`, its baseline.

Both need no key and no network: they read the request's structured context (the slot's observables,
actions and wallet, the parent and target code) and its seed, never the rendered messages. The reply's
text is the code in a ```python block, extracted by the caller exactly as from a language model.

`local:gp` draws a first player from the grammar (op `init`). To improve it, it tunes the parent's constants
within its structure (`tune`: evolver/tuning.py, from the trials of the parent's skeleton the engine passes in
the context), changes its structure by mutating its AST (`mutate`), or now and then draws a fresh program; to
beat a target it recombines the parent with the target, then half the time mutates (`crossover`; a beat without
a parent mutates the target). A repair, or code that does not parse to a program defining `fn`, gets a fresh
draw: mutating a broken program rarely mends it. `local:random` always draws fresh, ignoring parents.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import random
import time
from functools import partial

from evolver.errors import ProviderError
from evolver.providers.base import ProposalContext, ProposalRequest, Reply
from evolver.providers.grammar import Market, draw_program, find_fn, market_of, watch_edges
from evolver.providers.mutation import BOLD, OPERATORS, crossover, mutate
from evolver.syntax import parse
from evolver.tuning import set_values, suggest, values, warm_up

MODELS = ("local:gp", "local:random")
TUNE_SHARE = 0.5  # how often an improve tunes a parent whose skeleton had its global search
FRESH = 0.4  # how often an improve draws a fresh program instead: new structures keep entering the archive
IDLE_FRESH = 0.5  # and how often when the parent did nothing: its rules have little to offer


class LocalProvider:
    """An offline generator; deterministic: the same request (seed and context) gives the same code."""

    def __init__(self, model_id: str) -> None:
        if model_id not in MODELS:
            raise ProviderError(f"unknown local model {model_id!r}; the local models are {' and '.join(MODELS)}")
        self.model_id = model_id

    def check(self) -> None:
        """Nothing to check: an offline generator is always there."""

    def propose(self, request: ProposalRequest) -> Reply:
        """A program for the request's slot, with the op this generator actually performed."""
        started = time.perf_counter()
        market = market_of(request.context)
        rng = random.Random(self._seed(request))
        tree, op = self._search(request, market, rng) if self.model_id == "local:gp" else (None, "init")
        code = ast.unparse(watch_edges(tree) if tree else draw_program(market, rng)) + "\n"
        latency = (time.perf_counter() - started) * 1e3
        return Reply(f"```python\n{code}```\n", self.model_id, latency_ms=latency, requests=0, op=op)

    def _seed(self, request: ProposalRequest) -> str:
        """The generator's seed: the request's, and for `local:gp` the code it builds on. A fresh draw for a
        request without parents is the same for both models, so a search and its baseline start alike."""
        context = request.context
        parents = (context.parent_code, context.target_code) if self.model_id == "local:gp" else (None, None)
        digest = hashlib.sha256(repr(parents).encode("utf-8", "surrogatepass")).hexdigest()
        return f"{request.seed}:{digest}"

    @staticmethod
    def _search(request: ProposalRequest, market: Market, rng: random.Random) -> tuple[ast.Module | None, str]:
        """(the new program, its op); (None, "init") when a fresh draw is what this request needs."""
        context = request.context
        if request.op == "repair" or context.error:
            return None, "init"
        parent, target = _program(context.parent_code), _program(context.target_code)
        fresh = IDLE_FRESH if parent is not None and _held_still(context) else FRESH
        if parent is not None and target is None and rng.random() < fresh:
            return None, "init"
        if parent is not None and target is None and _tuning(parent, context, rng):
            tuned = copy.deepcopy(parent)
            first = context.trials[0][0] if context.trials else values(parent)
            set_values(tuned, suggest(first, context.trials, context.direction, rng.randrange(2**32)))
            return tuned, "tune"
        child = crossover(parent, target, rng) if parent is not None and target is not None else None
        if child is not None:  # mutated half the time, and never by new rules, so what it took mostly stays
            return (mutate(child, rng) if rng.random() < 0.5 else None) or child, "crossover"
        base = parent or target  # a beat with no player of its own yet starts from the target
        operators = BOLD if parent is not None and _held_still(context) else OPERATORS
        mutated = mutate(base, rng, partial(draw_program, market), operators) if base is not None else None
        return (mutated, "mutate") if mutated is not None else (None, "init")


def _tuning(parent: ast.Module, context: ProposalContext, rng: random.Random) -> bool:
    """Whether to tune the parent's parameters rather than change its structure: always until its skeleton has had
    its global search, then TUNE_SHARE of the time (never for a parent without parameters or one that did nothing:
    there is nothing to tune)."""
    dimensions = len(values(parent))
    if not dimensions or _held_still(context):
        return False
    return len(context.trials) < warm_up(dimensions) or rng.random() < TUNE_SHARE


def _held_still(context: ProposalContext) -> bool:
    """Whether the parent scored exactly what its wallet started with under a balance comp: it most likely
    never traded, so its rules give nothing to tune."""
    start = context.wallet.get(context.comp.upper())
    return start is not None and context.parent_score == start


def _program(code: str | None) -> ast.Module | None:
    """`code` parsed, when it is a program defining `fn`; None otherwise."""
    if not code:
        return None
    try:
        tree = parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    return tree if find_fn(tree) is not None else None
