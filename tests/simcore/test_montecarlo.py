"""Monte Carlo: a generator per run, reproducible by seed, independent of how runs are split."""

import types

import numpy as np
import pytest

import simcore
from simcore import SimulationError, monte_carlo, run_seed


def walk(i, v, r, s, p):
    r["price"] *= 1 + p["rng"].gauss(0, v["vol"])
    s[i]["shock"] = p["rng"].random()


def random_walk():
    module = types.ModuleType("random_walk", "A price doing a random walk.")
    module.vars = {
        "vol": {"name": "Volatility", "val": 0.02},
        "final": {"name": "Final", "val": lambda g, r: r["price"]},
    }
    module.before = lambda v: {"price": 1.0}
    module.players = [{"key": "WALK", "fn": walk}]
    return simcore.load_scenario(module)


def test_same_seed_same_numbers_other_seed_other_numbers():
    first = monte_carlo(random_walk(), runs=5, seed=42)
    again = monte_carlo(random_walk(), runs=5, seed=42)
    other = monte_carlo(random_walk(), runs=5, seed=43)
    assert first.nvars == again.nvars and first.seeds == again.seeds
    assert [n["final"] for n in first.nvars] != [n["final"] for n in other.nvars]
    assert len({n["final"] for n in first.nvars}) == 5  # each run draws its own numbers


def test_each_run_uses_its_derived_seed_so_more_runs_keep_earlier_ones():
    three, five = monte_carlo(random_walk(), 3, seed=7), monte_carlo(random_walk(), 5, seed=7)
    assert five.nvars[:3] == three.nvars
    assert three.seeds == [run_seed(7, k) for k in range(3)]
    assert simcore.simulate(random_walk(), seed=three.seeds[1]).nvars == three.nvars[1]


def test_workers_do_not_change_the_numbers():
    assert monte_carlo(random_walk(), 9, seed=1, workers=2).nvars == monte_carlo(random_walk(), 9, seed=1).nvars


def test_summary_matches_the_per_run_table():
    result = monte_carlo(random_walk(), 20, seed=5, overrides={"vol": 0.05})
    finals = np.array([n["final"] for n in result.nvars])
    summary = result.summary()
    assert list(summary.columns) == ["mean", "std", "min", "p5", "p25", "p50", "p75", "p95", "max"]
    assert summary.loc["final", "mean"] == pytest.approx(finals.mean())
    assert summary.loc["final", "std"] == pytest.approx(finals.std(ddof=1))
    assert summary.loc["final", "p50"] == pytest.approx(np.median(finals))
    assert summary.loc["vol", "std"] == pytest.approx(0, abs=1e-12)
    assert summary.loc["vol", "mean"] == pytest.approx(0.05)
    assert list(result.table["run"]) == list(range(20))
    plain = result.to_dict()
    assert len(plain["runs"]) == 20 and plain["summary"]["final"]["max"] == finals.max()


@pytest.mark.parametrize(
    ("runs", "seed", "message"), [(0, 1, "runs must be"), (2, -1, "seed must be"), (2.5, 1, "runs")]
)
def test_bad_runs_and_seeds_are_refused(runs, seed, message):
    with pytest.raises(SimulationError, match=message):
        monte_carlo(random_walk(), runs, seed=seed)


def test_unknown_override_is_named():
    with pytest.raises(SimulationError, match="unknown variable 'volatility'"):
        monte_carlo(random_walk(), 2, overrides={"volatility": 1})
