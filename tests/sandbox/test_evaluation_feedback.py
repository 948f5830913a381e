"""The feedback an evaluation carries when asked: what simcore's runs show, bounded, and changing no score."""

import json

import pytest

from sandbox import Limits, SandboxPool, Status
from sandbox.verdict import verdict
from simcore import play
from simcore.feedback import PERIODS, Feedback

SEEDS = (0, 1, 2)
GREEDY = """
def fn(i, v, r, s, p):
    if v['price'] < 1.0:
        p['dex'].buyA(20)
    if i % 50 == 0:
        p['dex'].sellA(1000)
    if i == 1:
        p['dex'].sellB(5000)
"""


@pytest.fixture(scope="module")
def pool():
    with SandboxPool(workers=1) as pool:
        yield pool


def plain_player(code: str):
    namespace: dict = {}
    exec(code, namespace)  # a trusted test player, run outside the sandbox to compare
    return namespace["fn"]


def test_feedback_is_simcores_over_every_seed_and_changes_no_number(pool):
    told = pool.evaluate(GREEDY, "vc_unlock", SEEDS, feedback=True)
    bare = pool.evaluate(GREEDY, "vc_unlock", SEEDS)
    assert told.ok and bare.feedback is None and "feedback" not in bare.to_dict()
    assert (told.metrics, told.per_seed, told.score) == (bare.metrics, bare.per_seed, bare.score)
    expected = Feedback()
    for seed in SEEDS:
        expected.add(seed, play("vc_unlock", plain_player(GREEDY), seed=seed))
    assert told.feedback == json.loads(json.dumps(expected.to_dict()))
    assert told.feedback["refusals"] and len(told.feedback["periods"]) == PERIODS
    assert told.feedback["runs"] == len(SEEDS) and told.feedback["seed"] == SEEDS[0]


def test_a_failed_evaluation_carries_none(pool):
    failed = pool.evaluate("def fn(i, v, r, s, p):\n    return 1 / 0\n", "ai3_plugins", (0,), feedback=True)
    assert failed.status is Status.RUNTIME_ERROR and failed.feedback is None


def test_feedback_past_its_bounds_is_an_invalid_report():
    period = {"days": [1, 1], "trades": {}, "refused": 0, "wallet": {"USDC": 1.0}, "seen": {}}
    feedback = {"runs": 1, "seed": 0, "periods": [period] * (PERIODS + 1), "refusals": [], "others": 0}
    report = {"status": "ok", "metrics": [{"usdc": 1.0}], "feedback": feedback}
    seen = {"stopped": None, "report": json.dumps(report), "signal": None, "exit": 0, "cpu_seconds": 0.1,
            "child_ms": 1.0}  # fmt: skip
    evaluation = verdict(seen, Limits(), (0,), "usdc")
    assert evaluation.status is Status.OUTPUT_INVALID and "failed validation" in (evaluation.error or "")
    feedback["periods"] = [period]
    assert verdict({**seen, "report": json.dumps(report)}, Limits(), (0,), "usdc").feedback == feedback
