"""`evaluate` and the pool: statuses, line numbers, seeds, isolation, and hostile cases beyond the sample."""

import os
import signal
from pathlib import Path

import pytest

from sandbox import Limits, SandboxError, SandboxPool, Status, evaluate

FAST = Limits(cpu_seconds=1, wall_seconds=4, memory_mb=256)

BUY_LOW_SELL_HIGH = """
def fn(i, v, r, s, p):
    if v['price'] < 0.9:
        p['dex'].buyA(5)
    elif v['price'] > 1.0:
        p['dex'].sellA(5)
"""


@pytest.fixture(scope="module")
def pool():
    with SandboxPool(workers=2) as pool:
        yield pool


def run(pool, code, **kwargs):
    return pool.evaluate(code, "ai3_plugins", limits=kwargs.pop("limits", FAST), **kwargs)


def test_a_strategy_is_scored_the_same_on_every_run(pool):
    first, again = run(pool, BUY_LOW_SELL_HIGH), run(pool, BUY_LOW_SELL_HIGH)
    assert first.ok, first.error
    assert first.score == again.score == first.metrics["usdc"] > 50
    assert first.timings["child_ms"] > 0 and first.timings["total_ms"] >= first.timings["child_ms"]


def test_metrics_are_the_mean_over_seeds(pool):
    code = "def fn(i, v, r, s, p):\n    if p['rng'].random() < 0.1:\n        p['dex'].buyA(1)\n"
    both = run(pool, code, seeds=(1, 2))
    one, two = run(pool, code, seeds=(1,)), run(pool, code, seeds=(2,))
    assert both.ok and both.per_seed == [one.per_seed[0], two.per_seed[0]]
    assert both.score == pytest.approx((one.score + two.score) / 2)


@pytest.mark.parametrize(
    ("code", "status", "line"),
    [
        ("def fn(i, v, r, s, p):\n    x = 1\n    return 1 / 0\n", Status.RUNTIME_ERROR, 3),
        ("def fn(i, v, r, s, p):\n    return (\n", Status.COMPILE_ERROR, 2),
        ("x = 1\n", Status.COMPILE_ERROR, None),
        ("def fn(i, v, r, s, p):\n\n    p['dex'].buyA(-5)\n", Status.INVALID_ACTION, 3),
        ("def fn(i, v, r, s, p):\n    p['dex'].buyA(float('nan'))\n", Status.INVALID_ACTION, 2),
        ("def fn(i, v, r, s, p):\n    return 'a lot'\n", Status.OUTPUT_INVALID, None),
        ("def fn(i, v, r, s, p):\n    return lambda: 0\n", Status.OUTPUT_INVALID, None),
        ("def fn(i, v, r, s, p):\n    r['dex'] = p['dex']\n", Status.OUTPUT_INVALID, None),
        ("def fn(i, v, r, s, p):\n    yield 1\n", Status.OUTPUT_INVALID, None),
        ("def fn(i, v, r, s, p):\n    p['dex'].v['la'] = 1\n", Status.RUNTIME_ERROR, 2),
        ("def fn(i, v, r, s, p):\n    s[0]['price'] = 0\n", Status.RUNTIME_ERROR, 2),
        ("def fn(i, v, r, s, p):\n    p['dex'].mint(10)\n", Status.RUNTIME_ERROR, 2),
        ("def fn(i, v, r, s, p):\n    x = [0] * 10 ** 9\n", Status.MEMORY_LIMIT, None),
        ("def fn(i, v, r, s, p):\n    return sum(k for k in range(10 ** 12))\n", Status.CPU_LIMIT, None),
        ("def fn(i, v, r, s, p):\n    f = lambda n: f(n + 1)\n    f(0)\n", Status.RUNTIME_ERROR, 2),
    ],
)
def test_statuses_and_the_players_line(pool, code, status, line):
    evaluation = run(pool, code)
    assert evaluation.status is status, evaluation.error
    assert evaluation.error
    if line is not None:
        assert evaluation.line == line


def test_a_wall_clock_deadline_stops_a_sleeper(pool):
    code = "def fn(i, v, r, s, p):\n    while True:\n        pass\n"
    evaluation = run(pool, code, limits=Limits(cpu_seconds=30, wall_seconds=1))
    assert evaluation.status is Status.TIMEOUT and evaluation.timings["child_ms"] < 3000


def test_unaffordable_and_unheld_trades_are_refused_without_gain(pool):
    code = "def fn(i, v, r, s, p):\n    p['dex'].sellA(1000)\n    p['dex'].buyA(90)\n"
    evaluation = run(pool, code)
    assert evaluation.ok
    assert evaluation.metrics["usdc"] == 50 and evaluation.metrics["refused"] >= 365


def test_printing_is_kept_but_capped(pool):
    evaluation = run(pool, "def fn(i, v, r, s, p):\n    print('x' * 1000)\n")
    assert evaluation.ok and 0 < len(evaluation.stdout) <= FAST.max_print_bytes


def test_a_poisoning_attempt_does_not_reach_the_next_evaluation(pool):
    before = run(pool, BUY_LOW_SELL_HIGH).score
    for attack in ("math.floor = 0", "sorted.x = 1", "min.__doc__ = 'x'"):
        assert not run(pool, f"def fn(i, v, r, s, p):\n    {attack}\n").ok
    assert run(pool, BUY_LOW_SELL_HIGH).score == before


def test_rejected_input(pool):
    assert run(pool, b"def fn(i, v, r, s, p): pass").status is Status.REJECTED_INPUT
    huge = "def fn(i, v, r, s, p):\n    pass\n" + "#" * 70_000
    assert run(pool, huge).status is Status.REJECTED_INPUT


@pytest.mark.parametrize(
    ("scenario", "seeds", "years", "message"),
    [
        ("nope", (0,), 1, "unknown scenario"),
        ("ai3_quickstart", (0,), 1, "no slot"),
        ("ai3_plugins", (-1,), 1, "seeds"),
        ("ai3_plugins", (0,), -1, "years must be"),
    ],
)
def test_the_callers_mistakes_raise(pool, scenario, seeds, years, message):
    with pytest.raises(SandboxError, match=message):
        pool.evaluate("def fn(i, v, r, s, p): pass", scenario, seeds=seeds, years=years)


def test_no_secret_reaches_the_warm_parents(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
    with SandboxPool(workers=1) as pool:
        parent = pool._all[0]
        environ = Path(f"/proc/{parent.process.pid}/environ").read_bytes()
        assert b"sk-test-secret" not in environ and b"OPENAI_API_KEY" not in environ
        assert run(pool, BUY_LOW_SELL_HIGH).ok


def test_closing_a_pool_stops_its_warm_parents_and_removes_their_directories():
    pool = SandboxPool(workers=2)
    assert run(pool, BUY_LOW_SELL_HIGH).ok
    processes, base = [parent.process for parent in pool._all], Path(pool._base)
    pool.close()
    assert all(process.poll() is not None for process in processes)
    assert not base.exists()


def test_a_dead_warm_parent_is_replaced():
    with SandboxPool(workers=1) as pool:
        os.kill(pool._all[0].process.pid, signal.SIGKILL)
        pool._all[0].process.wait()
        assert run(pool, BUY_LOW_SELL_HIGH).status is Status.CRASHED
        assert run(pool, BUY_LOW_SELL_HIGH).ok


def test_the_module_level_evaluate_works_on_a_scenario_file(tmp_path):
    scenario = tmp_path / "mine.py"
    source = Path(__file__).resolve().parents[2] / "simcore" / "scenarios" / "ai3_plugins.py"
    scenario.write_text(source.read_text())
    assert evaluate(BUY_LOW_SELL_HIGH, scenario, limits=FAST).ok


def test_the_players_module_is_loaded_once_for_each_seed(pool):
    evaluation = run(pool, "print('loaded')\ndef fn(i, v, r, s, p):\n    pass\n", seeds=(0, 1, 2))
    assert evaluation.ok and evaluation.stdout == "loaded\n" * 3
