"""`evolver fuzz --queue` and `evolver simulate --runs N --queue` through a real redis-server and two real Celery
workers: the cases go to the workers in chunks (`evolver.simulate_runs`, the task of a verification study's runs) and
the winners, the table and the Monte Carlo summary come back bit for bit what they are in-process, also when the
worker running a chunk is killed with SIGKILL; a failing case, a changed scenario file and a broker that is not there
are named.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import postgres
import pytest
import redis
from queued import assert_killed_run_lost_nothing, chunks, in_process, invoke, ok, read_json, serving

import simcore
from evolver.queue import TaskQueue
from evolver.settings import Settings
from evolver.studies import celery_runner, chunk_size
from simcore.errors import SimulationError

pytestmark = pytest.mark.integration

FUZZ = ("fuzz", "ai3_quickstart", "--case", "iusdcl=10:40", "--case", "iail=50:150", "--find", "aip=max",
        "--find", "diff=min")  # fmt: skip
MONTE_CARLO = ("simulate", "vc_unlock", "--runs", "100", "--seed", "7", "--set", "seed_vp=12", "--years", "0.5")
SCENARIO = '''"""A quadratic with a crash at x = 3."""

vars = {"x": 0, "y": lambda g: {A} * g("x") - g("x") ** 2}


def crash_on_three(i, v, r, s, p):
    if v["x"] == 3:
        raise ValueError("three is bad")


players = [{"key": "CRASH", "fn": crash_on_three}]
years = 0.05
'''


SLOW = '''"""Each run takes at least 20 ms; the run of x = 3 fails."""
import time

vars = {"x": 0, "y": lambda g: 10 * g("x") - g("x") ** 2}


def before(v):
    time.sleep(0.02)
    if v["x"] == 3:
        raise ValueError("three is bad")
    return {}


years = 0.01
'''


@pytest.fixture(scope="module")
def served(broker: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], list[Path]]]:
    """Two workers of one process each; their settings and their logs."""
    with serving(broker, tmp_path_factory.mktemp("served"), workers=2) as (env, logs):
        yield env, logs


@pytest.fixture
def queue(env) -> Iterator[TaskQueue]:
    queue = TaskQueue(Settings())
    yield queue
    queue.close()


def scenario_file(path: Path, a: int) -> Path:
    """A scenario file whose `y` is `a * x - x**2`, and whose run fails for x = 3."""
    path.write_text(SCENARIO.replace("{A}", str(a)))
    return path


def test_a_queued_fuzz_is_the_fuzz_here_and_ran_on_both_workers(env, served, tmp_path, monkeypatch):
    _, logs = served
    before = [set(chunks(log)) for log in logs]
    queued, here = tmp_path / "queued", tmp_path / "here"
    result = ok(*FUZZ, "--queue", "--json", queued.with_suffix(".json"), "--csv", queued.with_suffix(".csv"))
    ran = [set(chunks(log)) - seen for log, seen in zip(logs, before, strict=True)]
    assert all(ran) and sum(map(len, ran)) == math.ceil(3000 / chunk_size(3000, 2)) == 16  # each chunk once
    expected = in_process(monkeypatch, tmp_path / "here.db", *FUZZ, "--json", here.with_suffix(".json"),
                          "--csv", here.with_suffix(".csv"))  # fmt: skip
    assert result.stdout == expected.stdout and "best of 3000 cases" in result.stdout  # the winners' table
    for suffix in (".json", ".csv"):  # the winners (their nvars and res too) and every case, floats' reprs included
        assert queued.with_suffix(suffix).read_text() == here.with_suffix(suffix).read_text()
    broker = redis.Redis.from_url(env["EVOLVER_BROKER_URL"])
    assert broker.llen("evolver") == 0 and not broker.keys("celery-task-meta-*")  # nothing left queued or stored


def test_a_queued_monte_carlo_is_the_monte_carlo_here(env, served, tmp_path, monkeypatch):
    queued, here = tmp_path / "queued.json", tmp_path / "here.json"
    result = ok(*MONTE_CARLO, "--queue", "--json", queued)
    expected = in_process(monkeypatch, tmp_path / "here.db", *MONTE_CARLO, "--json", here)
    assert result.stdout == expected.stdout and "100 runs of 0.5 years, seed 7" in result.stdout  # the summary
    assert read_json(queued) == read_json(here)  # every run's seed and variables, and the summary


def test_progress_counts_each_chunk_as_it_ends_and_one_case_is_one_chunk(queue):
    runner = celery_runner(queue, "ai3_quickstart")
    calls: list[tuple[int, int]] = []
    cases, find = {"iusdcl": range(10, 110)}, {"aip": "max", "diff": "min"}
    queued = simcore.fuzz("ai3_quickstart", cases, find, progress=lambda *call: calls.append(call), runner=runner)
    assert queued == simcore.fuzz("ai3_quickstart", cases, find)
    assert len(calls) == math.ceil(100 / chunk_size(100, 2)) == 7 and calls[-1] == (100, 100)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls) and {total for _, total in calls} == {100}

    calls.clear()
    one = simcore.fuzz("ai3_quickstart", {"iusdcl": [25]}, find, progress=lambda *c: calls.append(c), runner=runner)
    assert one == simcore.fuzz("ai3_quickstart", {"iusdcl": [25]}, find) and calls == [(1, 1)]


def test_no_runs_send_no_task(queue, served):
    _, logs = served
    before = [chunks(log, "received") for log in logs]
    assert list(celery_runner(queue, "ai3_quickstart")(simcore.load_scenario("ai3_quickstart"), [], 1.0)) == []
    assert [chunks(log, "received") for log in logs] == before


def test_a_case_that_fails_on_a_worker_is_named(env, tmp_path):
    result = invoke("fuzz", scenario_file(tmp_path / "crash.py", 4), "--case", "x=0:6", "--find", "y=max", "--queue")
    assert result.exit_code == 2
    assert "player 'CRASH' failed on day 1: ValueError: three is bad (in the run seed 0 with x=3)" in result.output


def test_the_workers_run_the_scenario_file_as_it_was_read_not_as_it_is_now(queue, tmp_path):
    path = scenario_file(tmp_path / "quadratic.py", 4)
    loaded = simcore.load_scenario(path)
    runner = celery_runner(queue, str(path))  # the text is read here, once
    scenario_file(path, 10)  # and changed before the runs: the workers must not see it
    cases, find = {"x": [0, 1, 2, 4, 5]}, {"y": "max"}
    queued = simcore.fuzz(loaded, cases, find, runner=runner)
    assert queued == simcore.fuzz(loaded, cases, find)
    assert queued.winners["y"].case == {"x": 2} and queued.winners["y"].value == 4  # 4x - x², not 10x - x²


def test_a_worker_killed_mid_fuzz_loses_nothing(tmp_path, monkeypatch):
    """Three chunks over one worker process, killed (whole) during the second: a second worker finishes the fuzz,
    which ends as it does in-process."""
    # 48 cases: three chunks of 16, each about a second
    args = ["fuzz", "resource_economy", "--case", "econ_curve_slope=0.05:2.45:0.05", "--find", "econ_volatility=min",
            "--find", "econ_utility=max", "--years", "0.3"]  # fmt: skip
    assert_killed_run_lost_nothing(args, tmp_path, monkeypatch, "best of 48 cases")


@pytest.mark.parametrize("command", [FUZZ, MONTE_CARLO], ids=["fuzz", "monte carlo"])
def test_a_broker_that_is_not_there_is_one_error_line_naming_the_setting(command, monkeypatch):
    dead = f"redis://127.0.0.1:{postgres.free_port()}/0"
    monkeypatch.setenv("EVOLVER_BROKER_URL", dead)
    result = invoke(*command, "--queue")
    assert result.exit_code == 2
    assert f"error: cannot reach the broker at {dead}" in result.output and "EVOLVER_BROKER_URL" in result.output
    monkeypatch.delenv("EVOLVER_BROKER_URL")
    result = invoke(*command, "--queue")
    assert result.exit_code == 2 and "no broker is configured: set EVOLVER_BROKER_URL" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((*FUZZ, "--workers", "2"), "--workers is for processes here"),
        ((*MONTE_CARLO, "--workers", "2"), "--workers is for processes here"),
        (("simulate", "vc_unlock"), "give --runs N"),
        (("simulate", "bonding_curve", "--runs", "4", "--vary", "bond_cap=0.5:2.0"), "leave out --queue"),
        (("simulate", "wsloop"), "leave out --queue"),
    ],
)
def test_what_the_queue_cannot_run_is_refused_before_the_broker_is_asked(args, message, monkeypatch):
    monkeypatch.delenv("EVOLVER_BROKER_URL", raising=False)
    result = invoke(*args, "--queue")
    assert result.exit_code == 2 and message in result.output, result.output


def test_a_slow_scenarios_chunks_take_a_share_of_the_task_time_limit(env, served, tmp_path):
    path = tmp_path / "slow.py"
    path.write_text(SLOW)
    queue = TaskQueue(Settings(task_time_limit=0.4))  # here only: it sizes the chunks, the workers keep theirs
    calls: list[tuple[int, int]] = []
    cases, find = {"x": range(4, 44)}, {"y": "max"}
    try:
        queued = simcore.fuzz(path, cases, find, progress=lambda *call: calls.append(call), runner=celery_runner(queue,
                              str(path)))  # fmt: skip
    finally:
        queue.close()
    assert queued == simcore.fuzz(path, cases, find) and queued.winners["y"].case == {"x": 5}
    sizes = [done - before for (done, _), (before, _) in zip(calls, [(0, 0), *calls[:-1]], strict=True)]
    assert chunk_size(40, 2) == 16 and max(sizes) <= 10 and sum(sizes) == 40  # half of 0.4 s at 20 ms or more a run
    assert chunk_size(40, 2, run_seconds=0.02, time_limit=0.4) == 10 and chunk_size(40, 2, 30.0, 0.4) == 1


def test_a_failing_chunk_revokes_the_chunks_still_queued(env, served, tmp_path, queue):
    _, logs = served
    path = tmp_path / "slow_failing.py"
    path.write_text(SLOW)
    before = [set(chunks(log)) for log in logs]
    cases = {"x": [4, 3, *range(5, 325)]}  # the first chunk's second run fails (the first runs here first, and passes)
    with pytest.raises(SimulationError, match=r"three is bad \(in the run seed 0 with x=3\)"):
        simcore.fuzz(path, cases, {"y": "max"}, runner=celery_runner(queue, str(path)))
    time.sleep(4)  # time enough for all 16 chunks of 0.4 s on the two workers, had they not been revoked
    ran = sum(len(set(chunks(log)) - seen) for log, seen in zip(logs, before, strict=True))
    assert math.ceil(322 / chunk_size(322, 2)) == 16 and ran <= 6
