"""The offline generators: local:gp (grammar, mutation, crossover) and local:random, on the real sandbox."""

from __future__ import annotations

import ast
import itertools
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace

import pytest

import simcore
from evolver.engine import Engine
from evolver.errors import ProviderError
from evolver.job import JobSpec
from evolver.providers.base import ProposalContext, ProposalRequest, Reply
from evolver.providers.grammar import grammar_chain
from evolver.providers.local import LocalProvider
from evolver.settings import Settings
from evolver.store import Store
from evolver.syntax import parse
from evolver.tuning import skeleton, values
from sandbox import SandboxPool
from sandbox.contract import FN_ARGUMENTS
from sandbox.policy import compile_player

SCENARIO = "ai3_plugins"
GP, RANDOM = LocalProvider("local:gp"), LocalProvider("local:random")
FOREIGN = (
    "def fn(i, v, r, s, p):\n    if v['price'] < 2:\n        p['dex'].buyA(10)\n    else:\n        p['dex'].sellA(5)\n"
)


@pytest.fixture(scope="module")
def context() -> ProposalContext:
    """The ai3_plugins slot as the evolver describes it to a generator."""
    loaded = simcore.load_scenario(SCENARIO)
    slot = loaded.slot
    assert slot is not None
    observables = (*loaded.variables, *slot.observe, "wallet")
    return ProposalContext(
        SCENARIO, slot.goal, slot.comp, slot.direction, observables, dict(slot.actions), dict(slot.wallet),
        slot.max_actions_per_day, kinds={"dex": "dex"}, observed=tuple(slot.observe),
    )  # fmt: skip


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(2) as sandboxes:
        yield sandboxes


def propose(
    provider: LocalProvider, context: ProposalContext, seed: int, parent: str | None = None, target: str | None = None
) -> Reply:
    request = ProposalRequest("init", (), replace(context, parent_code=parent, target_code=target), seed=seed)
    return provider.propose(request)


def code_of(reply: Reply) -> str:
    match = re.fullmatch(r"```python\n(.*)```\n", reply.text, re.DOTALL)
    assert match, reply.text
    return match.group(1)


def generate(provider: LocalProvider, context: ProposalContext, seed: int, **parents: str | None) -> str:
    return code_of(propose(provider, context, seed, **parents))


def numbers(code: str) -> list[float]:
    return [node.value for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Constant)
            and type(node.value) in (int, float)]  # fmt: skip


@pytest.fixture(scope="module")
def inits(context: ProposalContext) -> list[str]:
    return [generate(GP, context, seed) for seed in range(201)]


def tuned(context: ProposalContext, parent: str, trials: int = 100) -> ProposalContext:
    """An improve's context for a parent whose skeleton has had `trials` trials (all of the parent's parameters)."""
    return replace(context, parent_code=parent, trials=((values(parse(parent)), 50.0),) * trials)


@pytest.fixture(scope="module")
def programs(context: ProposalContext, inits: list[str]) -> dict[str, list[tuple[str, Reply]]]:
    """(parent, reply) pairs by the op gp chose: 200 fresh draws; 200 improves of those draws, first tunings of
    their constants, and 200 more once their skeletons are tuned (tunings, mutations and fresh draws); 200
    crossovers with the next draw."""
    pairs = list(itertools.pairwise(inits))
    made = [(parent, propose(GP, context, seed)) for seed, (parent, _) in enumerate(pairs)]
    made += [(parent, propose(GP, context, 7, parent=parent)) for parent, _ in pairs]
    made += [
        (parent, GP.propose(ProposalRequest("improve", (), tuned(context, parent), seed=7))) for parent, _ in pairs
    ]
    made += [(parent, propose(GP, context, 7, parent=parent, target=target)) for parent, target in pairs]
    grouped: dict[str, list[tuple[str, Reply]]] = {}
    for parent, reply in made:
        grouped.setdefault(reply.op or "", []).append((parent, reply))
    return grouped


def test_unknown_local_model_names_the_two() -> None:
    with pytest.raises(ProviderError, match=r"local:gp.*local:random"):
        LocalProvider("local:gpt")


def test_a_reply_is_free_and_says_its_op(context: ProposalContext, inits: list[str]) -> None:
    replies = [propose(GP, context, seed, parent=inits[0]) for seed in range(10)]
    assert {(reply.model, reply.tokens_in, reply.tokens_out, reply.requests) for reply in replies} == {
        ("local:gp", 0, 0, 0)
    }
    assert {reply.op for reply in replies} == {"tune", "init"}  # a first improve tunes, or draws afresh (FRESH)
    assert all(0 < reply.latency_ms < 1000 for reply in replies)
    assert propose(RANDOM, context, 3, parent=inits[0]).op == "init"


@pytest.mark.parametrize(("op", "distinct"), [("init", 40), ("tune", 35), ("crossover", 20)])
def test_the_same_request_gives_the_same_code_and_seeds_differ(
    context: ProposalContext, inits: list[str], op: str, distinct: int
) -> None:
    parents = {"init": {}, "tune": {"parent": inits[0]}, "crossover": {"parent": inits[0], "target": inits[1]}}[op]
    codes = [generate(GP, context, seed, **parents) for seed in range(40)]
    assert codes == [generate(GP, context, seed, **parents) for seed in range(40)]
    assert len(set(codes)) >= distinct  # two parents offer few ways to mix them; a small change may recur


def test_random_ignores_parents_and_seeds_differ(context: ProposalContext, inits: list[str]) -> None:
    codes = [generate(RANDOM, context, seed) for seed in range(40)]
    assert codes == [generate(RANDOM, context, seed, parent=inits[0], target=inits[1]) for seed in range(40)]
    assert len(set(codes)) == 40


def test_an_improve_tunes_a_new_skeleton_then_also_mutates_and_draws_afresh(
    programs: dict[str, list[tuple[str, Reply]]],
) -> None:
    assert len(programs["tune"]) > 150 and len(programs["mutate"]) > 40 and len(programs["init"]) > 220
    for parent, reply in programs["tune"]:  # the parent's structure, other constants
        child = parse(code_of(reply))
        assert skeleton(child) == skeleton(parse(parent)) and values(child) != values(parse(parent))


@pytest.mark.parametrize("op", ["init", "tune", "mutate", "crossover"])
def test_every_generated_program_passes_the_policy(programs: dict[str, list[tuple[str, Reply]]], op: str) -> None:
    for _, reply in programs[op]:
        assert reply.op == op
        code = code_of(reply)
        fn = next(node for node in ast.parse(code).body if isinstance(node, ast.FunctionDef) and node.name == "fn")
        assert tuple(arg.arg for arg in fn.args.args) == FN_ARGUMENTS
        compile_player(code)


def test_a_sample_evaluates_ok_with_at_most_one_trade_a_day(
    pool: SandboxPool, programs: dict[str, list[tuple[str, Reply]]]
) -> None:
    sample = [code_of(reply) for op in programs for _, reply in programs[op][:7]]
    ops = [op for op in programs for _ in programs[op][:7]]
    evaluations = pool.evaluate_many([(code, SCENARIO) for code in sample])
    assert [evaluation.status.value for evaluation in evaluations] == ["ok"] * len(sample)
    assert all(evaluation.metrics["actions"] + evaluation.metrics["refused"] <= 365 for evaluation in evaluations)
    # new structures behave differently; a tuning moves constants, often within a plateau of one behaviour
    varied = [evaluation.score for evaluation, op in zip(evaluations, ops, strict=True) if op != "tune"]
    assert len(set(varied)) > len(varied) // 2


def test_mutation_keeps_the_structure_and_changes_the_code(programs: dict[str, list[tuple[str, Reply]]]) -> None:
    changed_numbers = 0
    for parent, reply in programs["mutate"]:
        child = code_of(reply)
        assert child != parent
        defs = [[node.name for node in ast.walk(ast.parse(code)) if isinstance(node, ast.FunctionDef)]
                for code in (parent, child)]  # fmt: skip
        assert defs[0] == defs[1] and defs[0][-1] == "fn"
        assert grammar_chain(ast.parse(child)) is not None  # the preamble is untouched
        changed_numbers += numbers(child) != numbers(parent)
    assert changed_numbers > len(programs["mutate"]) * 3 // 4  # constants are the workhorse


def test_crossover_takes_material_from_both_parents(
    programs: dict[str, list[tuple[str, Reply]]], inits: list[str]
) -> None:
    mixed, targets = 0, dict(itertools.pairwise(inits))
    for parent, reply in programs["crossover"]:
        child, target = set(numbers(code_of(reply))), targets[parent]
        mixed += bool(child & (set(numbers(parent)) - set(numbers(target)))) and bool(
            child & (set(numbers(target)) - set(numbers(parent)))
        )
    # half the children are mutated after the crossover, which may move what was taken; a band rule has few numbers
    assert mixed > len(programs["crossover"]) * 0.75


def test_gp_mutates_code_outside_the_grammar(context: ProposalContext) -> None:
    assert {propose(GP, context, seed, parent=FOREIGN).op for seed in range(10)} <= {"tune", "init"}
    replies = [GP.propose(ProposalRequest("improve", (), tuned(context, FOREIGN), seed=seed)) for seed in range(60)]
    replies = [reply for reply in replies if reply.op != "init"]
    assert {reply.op for reply in replies} == {"tune", "mutate"}
    for reply in replies:
        code = code_of(reply)
        assert code != FOREIGN and "p['dex'].buyA(" in code
        compile_player(code)


def test_a_beat_without_a_parent_of_its_own_mutates_the_target(context: ProposalContext, inits: list[str]) -> None:
    reply = propose(GP, context, 1, target=inits[0])
    assert reply.op == "mutate" and code_of(reply) != inits[0]
    assert propose(GP, context, 1, parent="x = 1", target=inits[0]).op == "mutate"


def test_gp_draws_afresh_for_a_repair_or_a_parent_without_fn(context: ProposalContext) -> None:
    failed = replace(context, parent_code=FOREIGN, error="ZeroDivisionError", error_line=2)
    assert GP.propose(ProposalRequest("repair", (), failed, seed=1)).op == "init"
    assert propose(GP, context, 1, parent="def fn(:").op == "init"
    assert propose(GP, context, 1, parent="x = 1").op == "init"


def test_the_grammar_reads_the_slot_not_ai3(context: ProposalContext) -> None:
    other = replace(context, observables=("supply", "spot_price", "wallet"), actions={"pool": ("sellB", "buyB")},
                    wallet={"DAI": 100.0, "ETH": 1.0})  # fmt: skip
    code = generate(RANDOM, other, 0)
    assert "v['spot_price']" in code and "p['pool']." in code and "'dex'" not in code
    assert "wallet.get('ETH', 0)" in code and "wallet.get('DAI', 0)" in code
    compile_player(code)
    with pytest.raises(ProviderError, match="buy or sell"):
        RANDOM.propose(ProposalRequest("init", (), replace(context, actions={"dex": ("swap",)})))


def test_a_gp_search_climbs_by_tuning_to_most_of_the_optimum(store: Store, pool: SandboxPool) -> None:
    """A real job of 100 evaluations on ai3_plugins: its tunings improve on the players they tune, and its best makes
    over half of the optimum profit (155.654 from a start of 50; the bench's median at 100 evaluations is 89 %).
    Whether gp beats random search is the bench's question (bench/search.py), over 5 search seeds: with a language
    that can learn the bots' threshold, a lucky fresh draw is already good, and two runs cannot tell them apart."""
    spec = JobSpec(scenario=SCENARIO, models=("local:gp",), generations=100, attempts=1, seed=0, heldout=())
    job_id = Engine(store, Settings(), pool).execute(spec)
    lineage = store.lineage(job_id)
    assert len(lineage) == 100
    tuned = [candidate for candidate in lineage if candidate.op == "tune"]
    assert sum(bool(candidate.improved) for candidate in tuned) >= 3
    best = store.best(job_id, "max")
    assert best is not None and best.score is not None and (best.score - 50) / (155.654 - 50) > 0.5, best


def test_a_run_is_reproducible_in_another_process(context: ProposalContext, inits: list[str]) -> None:
    """The seed is not Python's salted `hash`: a job re-run tomorrow proposes the same code."""
    script = (
        "import sys\n"
        "from evolver.providers.base import ProposalContext, ProposalRequest\n"
        "from evolver.providers.local import LocalProvider\n"
        "context = eval(sys.stdin.read())\n"
        "print(LocalProvider('local:gp').propose(ProposalRequest('improve', (), context, seed=5)).text, end='')\n"
    )
    improve = replace(context, parent_code=inits[0])
    done = subprocess.run(
        [sys.executable, "-c", script], input=repr(improve), capture_output=True, text=True, check=True
    )
    assert done.stdout == GP.propose(ProposalRequest("improve", (), improve, seed=5)).text
