"""The search operators of `local:gp`: AST mutation of one program and crossover of two.

They work on any parsed player, an LLM's included: constants, comparisons and if/else branches exist in
every program. Only programs in the grammar's form (see `grammar.grammar_chain`) also trade whole rules,
since only there is every name a rule reads known to be defined. The operators never add imports, names
or calls, so a program the sandbox's policy accepted stays acceptable.
"""

from __future__ import annotations

import ast
import copy
import math
import random
from collections.abc import Callable, Iterator, Sequence
from typing import TypeGuard

from evolver.providers.grammar import MIN_AMOUNT, action_of, chain_of, find_fn, grammar_chain, rules_of, significant

Draw = Callable[[random.Random], ast.Module]  # a fresh program from the grammar, for its rules
Operator = Callable[[ast.Module, random.Random, "Draw | None"], bool]  # changes the tree in place; False: no site
Path = tuple[str | int, ...]

_STRICTNESS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}
_DIRECTION = {ast.Lt: ast.Gt, ast.Gt: ast.Lt, ast.LtE: ast.GtE, ast.GtE: ast.LtE}
_NOISE = (0.03, 0.1, 0.3, 1.0)  # log-normal sigmas: fine tuning most of the time, sometimes a jump
MAX_TRIES = 20
FIXED = (0, 1, -1, MIN_AMOUNT)  # numbers that are arithmetic (`held > 0`, `1 - band`) or the trade floor, never tuned


def _is_parameter(node: ast.AST) -> TypeGuard[ast.Constant]:
    """A numeric literal worth tuning: not a zero (guards like `held > 0`), a one (`1 - band`) nor the trade floor."""
    return isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value not in FIXED


def _constants(tree: ast.AST) -> list[ast.Constant]:
    return [node for node in ast.walk(tree) if _is_parameter(node)]


def parameters(tree: ast.Module) -> list[ast.Constant]:
    """A program's tunable constants, in a fixed order: those of a grammar program's decision chain, else all."""
    return _constants(_searched(tree))


def _is_guard(node: ast.Compare) -> bool:
    """A comparison with zero, like `held > 0`: it keeps trades valid, so it is not flipped."""
    return any(isinstance(side, ast.Constant) and side.value == 0 for side in (node.left, *node.comparators))


def _nudged(value: int | float, rng: random.Random) -> int | float:
    """`value` times log-normal noise; the sign is kept, and an int stays an int that moved by at least 1."""
    scaled = value * math.exp(rng.gauss(0, rng.choice(_NOISE)))
    if isinstance(value, float):
        return significant(scaled)
    moved = round(scaled)
    if moved == value:
        moved += 1 if rng.random() < 0.5 else -1
    return max(moved, 1) if value > 0 else min(moved, -1)


def _searched(tree: ast.Module) -> ast.AST:
    """Where a program's parameters are: a grammar program's decision chain, or all of any other program."""
    return grammar_chain(tree) or tree


def perturb_constants(tree: ast.Module, rng: random.Random) -> bool:
    """Multiply one or a few numeric constants by noise."""
    constants = _constants(_searched(tree))
    if not constants:
        return False
    count = min(len(constants), 1 + int(rng.expovariate(1.5)))
    for node in rng.sample(constants, count):
        node.value = _nudged(node.value, rng)
    return True


def flip_comparison(tree: ast.Module, rng: random.Random) -> bool:
    """Turn one `<` into `<=` (or back), or, less often, reverse its direction."""
    sites = [(node, k) for node in ast.walk(_searched(tree)) if isinstance(node, ast.Compare) and not _is_guard(node)
             for k, op in enumerate(node.ops) if type(op) in _STRICTNESS]  # fmt: skip
    if not sites:
        return False
    node, k = rng.choice(sites)
    flips = _STRICTNESS if rng.random() < 0.6 else _DIRECTION
    node.ops[k] = flips[type(node.ops[k])]()
    return True


def swap_branches(tree: ast.Module, rng: random.Random) -> bool:
    """Swap the two branches of one `if` that has an `else` (or `elif`)."""
    sites = [node for node in ast.walk(_searched(tree)) if isinstance(node, ast.If) and node.orelse]
    if not sites:
        return False
    node = rng.choice(sites)
    node.body, node.orelse = node.orelse, node.body
    return True


def replace_rule(tree: ast.Module, rng: random.Random, draw: Draw | None) -> bool:
    """Replace one rule of a grammar program's decision chain by a rule of a freshly drawn program that
    takes the same action (a buy stays a buy), so the program keeps both sides of its trading."""
    chain, fresh = grammar_chain(tree), draw and grammar_chain(draw(rng))
    if chain is None or fresh is None:
        return False
    rule, drawn = rng.choice(rules_of(chain)), rules_of(fresh)
    new = rng.choice([other for other in drawn if action_of(other) == action_of(rule)] or drawn)
    rule.test, rule.body = new.test, new.body
    return True


def redraw_rules(tree: ast.Module, rng: random.Random, draw: Draw | None) -> bool:
    """Replace a grammar program's whole decision chain by a fresh one: a jump out of a poor region."""
    chain, fresh = grammar_chain(tree), draw and grammar_chain(draw(rng))
    if chain is None or fresh is None:
        return False
    chain.test, chain.body, chain.orelse = fresh.test, fresh.body, fresh.orelse
    return True


def _tune(tree: ast.Module, rng: random.Random, draw: Draw | None) -> bool:
    return perturb_constants(tree, rng)


def _flip(tree: ast.Module, rng: random.Random, draw: Draw | None) -> bool:
    return flip_comparison(tree, rng)


def _swap(tree: ast.Module, rng: random.Random, draw: Draw | None) -> bool:
    return swap_branches(tree, rng)


OPERATORS: tuple[tuple[float, Operator], ...] = (
    (0.5, _tune),
    (0.05, _flip),
    (0.02, _swap),
    (0.13, replace_rule),
    (0.3, redraw_rules),
)
"""(weight, operator). Tuning constants is the workhorse; on ai3_plugins about half of such moves change
nothing (a threshold between two prices the market never takes), and a trading rule's landscape has wide
plateaus, so a third of the moves jump: a new rule or a new chain in the same preamble. These weights did
best of the few mixes tried in keep-the-best searches of 120 and 300 evaluations; flips and swaps rarely
help a grammar program but are the only structural moves on other code."""

BOLD: tuple[tuple[float, Operator], ...] = ((0.2, _tune), (0.3, replace_rule), (0.5, redraw_rules))
"""For a parent that did nothing: its rules never fired (or the wallet could not pay for its trades), so
tuning them mostly changes nothing either; new rules do."""


def mutate(
    tree: ast.Module,
    rng: random.Random,
    draw: Draw | None = None,
    operators: Sequence[tuple[float, Operator]] = OPERATORS,
) -> ast.Module | None:
    """A changed copy of `tree` (one operator, sometimes two or three), or None when nothing in it can change.

    `draw` gives fresh grammar programs, whose rules replace a grammar program's; without it, or for other
    programs, only constants, comparisons and branches change.
    """
    source = ast.unparse(tree)
    weights = [weight for weight, _ in operators]
    for _ in range(MAX_TRIES):
        child = copy.deepcopy(tree)
        for _ in range(1 + int(rng.expovariate(2.0))):
            _, operator = rng.choices(operators, weights)[0]
            operator(child, rng, draw)
        if ast.unparse(child) != source:
            return ast.fix_missing_locations(child)
    return None


def _paths(node: ast.AST, path: Path = ()) -> Iterator[tuple[Path, ast.AST]]:
    """Every node with its path of (field, index) steps from `node`, so two programs' nodes can be aligned."""
    yield path, node
    for name, value in ast.iter_fields(node):
        children = value if isinstance(value, list) else [value]
        for k, child in enumerate(children):
            if isinstance(child, ast.AST):
                yield from _paths(child, (*path, name, k))


def _mix(mine: Sequence[ast.AST], theirs: Sequence[ast.AST], rng: random.Random, swap: Callable[[int], None]) -> bool:
    """Swap a random half of the differing aligned positions (at least one, and not all of several) via `swap`."""
    differing = [k for k, (a, b) in enumerate(zip(mine, theirs, strict=False)) if ast.dump(a) != ast.dump(b)]
    if not differing:
        return False
    taken = [k for k in differing if rng.random() < 0.5]
    if not taken or (len(taken) == len(differing) > 1):
        taken = rng.sample(differing, max(1, len(differing) // 2))
    for k in taken:
        swap(k)
    return True


def _skeleton(node: ast.AST) -> str:
    """`node`'s shape with its tunable constants blanked: two nodes of one skeleton differ only in tuning."""
    blank = copy.deepcopy(node)
    for constant in _constants(blank):
        constant.value = 0
    return ast.dump(blank)


def _units(child: ast.Module, target: ast.Module) -> list[tuple[ast.AST, ast.AST]]:
    """Pairs of parts of the two programs that differ only in tuning: rules in the same role for grammar
    programs, else the whole programs."""
    mine, theirs = grammar_chain(child), grammar_chain(target)
    if mine is not None and theirs is not None:
        rules, others = rules_of(mine), rules_of(theirs)
        pairs: list[tuple[ast.AST, ast.AST]] = [
            (rules[k], others[j]) for k, j in enumerate(_partners(rules, others)) if j is not None
        ]
    else:
        pairs = [(child, target)]
    return [(a, b) for a, b in pairs if _skeleton(_alone(a)) == _skeleton(_alone(b))]


def _alone(node: ast.AST) -> ast.AST:
    """A rule without the rest of its chain; any other node as it is."""
    return ast.If(node.test, node.body, []) if isinstance(node, ast.If) else node


def cross_constants(child: ast.Module, target: ast.Module, rng: random.Random) -> bool:
    """Take some of the target's constants where the two programs have the same shape: the child's
    structure, mixed tuning."""
    aligned: list[tuple[ast.Constant, ast.Constant]] = []
    for unit, other in _units(child, target):
        theirs = {path: node for path, node in _paths(_alone(other)) if _is_parameter(node)}
        aligned += [(node, theirs[path]) for path, node in _paths(_alone(unit)) if _is_parameter(node)]
    mine, others = [a for a, _ in aligned], [b for _, b in aligned]

    def take(k: int) -> None:
        mine[k].value = others[k].value

    return _mix(mine, others, rng, take)


def cross_rules(child: ast.Module, target: ast.Module, rng: random.Random) -> bool:
    """Splice the two decision chains: some of the child's rules replaced by the target's rule of the same
    role (the k-th rule taking the same action), in the child's order."""
    mine, theirs = grammar_chain(child), grammar_chain(target)
    if mine is None or theirs is None:
        return False
    rules, others = rules_of(mine), rules_of(theirs)
    orelse = rules[-1].orelse
    pairs = [(k, j) for k, j in enumerate(_partners(rules, others)) if j is not None]

    def take(m: int) -> None:
        k, j = pairs[m]
        rules[k] = copy.deepcopy(others[j])

    if not _mix([rules[k] for k, _ in pairs], [others[j] for _, j in pairs], rng, take):
        return False
    fn = find_fn(child)
    assert fn is not None  # grammar_chain found its chain
    fn.body[fn.body.index(mine)] = chain_of(rules, orelse)
    return True


def _partners(rules: list[ast.If], others: list[ast.If]) -> list[int | None]:
    """For each rule, the index of the other chain's rule in the same role, if it has one."""
    roles: dict[str | None, list[int]] = {}
    for j, other in enumerate(others):
        roles.setdefault(action_of(other), []).append(j)
    return [(queue.pop(0) if (queue := roles.get(action_of(rule))) else None) for rule in rules]


def crossover(parent: ast.Module, target: ast.Module, rng: random.Random) -> ast.Module | None:
    """The parent's program with material from the target (rules or constants), or None if none could be taken."""
    child = copy.deepcopy(parent)
    operators = [cross_rules, cross_constants] if rng.random() < 0.5 else [cross_constants, cross_rules]
    if any(operator(child, target, rng) for operator in operators):
        return ast.fix_missing_locations(child)
    return None
