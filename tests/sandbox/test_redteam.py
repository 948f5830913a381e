"""The red-team sample, end to end through real sandbox children: every case contained, every control ok.

The sample is copied from shared/redteam/sample.json (checked below when shared/ is beside the clone).
"""

import json
from pathlib import Path

import pytest

from sandbox import Limits, SandboxPool, Status

HERE = Path(__file__).resolve().parent
SAMPLE = json.loads((HERE / "data" / "redteam_sample.json").read_text())
SHARED = HERE.parents[2] / "shared" / "redteam" / "sample.json"
LIMITS = Limits(cpu_seconds=1, wall_seconds=4, memory_mb=256)
HONEST_START = 50.0  # the ai3_plugins slot's starting USDC: doing nothing scores exactly this

ALLOWED = {
    "rejected_at_compile": {Status.COMPILE_ERROR, Status.REJECTED_INPUT},
    "raises_in_sandbox": {
        Status.COMPILE_ERROR, Status.RUNTIME_ERROR, Status.INVALID_ACTION, Status.OUTPUT_INVALID, Status.REJECTED_INPUT,
    },
    # stricter is fine: a name that is not exposed at all fails at once instead of running into a limit
    "killed_by_limit": {Status.TIMEOUT, Status.CPU_LIMIT, Status.MEMORY_LIMIT, Status.RUNTIME_ERROR},
}  # fmt: skip


def source(case):
    expand = case.get("expand")
    return expand["prefix"] + expand["unit"] * expand["repeat"] + expand["suffix"] if expand else case["code"]


def children_of(pid):
    return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()


def children(pool):
    """The live evaluation children: a warm parent's only child is its template, which forks them (and reaps
    each before its warm parent answers)."""
    found = []
    for parent in pool._all:
        templates = children_of(parent.process.pid)
        assert len(templates) == 1
        found += [child for template in templates for child in children_of(template)]
    return found


@pytest.fixture(scope="module")
def pool():
    with SandboxPool(workers=2) as pool:
        yield pool


@pytest.fixture(scope="module")
def results(pool):
    sentinel = Path(SAMPLE["sentinel_path"])
    sentinel.unlink(missing_ok=True)
    cases = SAMPLE["cases"] + SAMPLE["controls"]
    evaluations = pool.evaluate_many([(source(c), "ai3_plugins") for c in cases], limits=LIMITS)
    assert not sentinel.exists(), "a player wrote the sentinel file"
    return {case["id"]: evaluation for case, evaluation in zip(cases, evaluations, strict=True)}


def test_the_copy_matches_the_shared_sample():
    if not SHARED.exists():
        pytest.skip("shared/ is not beside this clone")
    assert json.loads(SHARED.read_text()) == SAMPLE


@pytest.mark.parametrize("case", SAMPLE["cases"], ids=[c["id"] for c in SAMPLE["cases"]])
def test_every_hostile_case_is_contained(results, case):
    evaluation = results[case["id"]]
    if case["expected"] == "must_not_affect_host":
        assert evaluation.status is not Status.CRASHED
        if evaluation.ok:
            assert evaluation.score <= HONEST_START
        return
    assert evaluation.status in ALLOWED[case["expected"]], (evaluation.status, evaluation.error)
    assert evaluation.error and len(evaluation.error) <= LIMITS.max_error_chars


@pytest.mark.parametrize("case", SAMPLE["controls"], ids=[c["id"] for c in SAMPLE["controls"]])
def test_every_control_evaluates_ok(results, case):
    evaluation = results[case["id"]]
    assert evaluation.ok, (evaluation.status, evaluation.error, evaluation.line)
    assert evaluation.score is not None and evaluation.metrics["usdc"] >= 0


def test_nothing_is_left_running_or_written(results, pool):
    assert children(pool) == []
    assert not Path(SAMPLE["sentinel_path"]).exists()
    workdirs = list(Path(pool._base).iterdir())
    assert len(workdirs) == pool.workers and all(not any(d.iterdir()) for d in workdirs)


def test_limits_are_reported_as_limits(results):
    assert results["loop-infinite"].status in {Status.CPU_LIMIT, Status.TIMEOUT}
    assert results["mem-str-mul"].status is Status.MEMORY_LIMIT
    assert results["raise-huge-message"].status is Status.RUNTIME_ERROR
    assert results["syn-indent"].line is not None
