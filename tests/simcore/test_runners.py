"""fuzz and Monte Carlo through another runner (`run_many`'s signature), as the service's Celery workers run them:
a runner that returns each run's scalar variables only gives what `run_many` gives, winners' nvars and res included;
what it cannot give is refused, and a runner that ran something else is caught.
"""

from collections.abc import Iterator, Sequence

import pandas as pd
import pytest

import simcore
from simcore import SimulationError, fuzz, monte_carlo
from simcore.batch import Job, Outcome, run_many
from simcore.fuzz import scalars

CASES = {"iusdcl": range(10, 40, 3), "iail": range(50, 101, 10)}
FIND = {"aip": "max", "diff": "min"}


def scalars_only(
    scenario: simcore.Scenario, jobs: Sequence[Job], years: float, workers: int = 1, progress=None
) -> Iterator[Outcome]:
    """What a remote runner sends back: each run's scalar variables, no final state."""
    for nvars, _ in run_many(scenario, jobs, years, workers, progress):
        yield scalars(nvars), {}


def test_a_fuzz_through_a_scalars_only_runner_is_the_fuzz_of_run_many():
    calls = []
    found = fuzz("ai3_quickstart", CASES, FIND, runner=scalars_only, progress=lambda *call: calls.append(call))
    expected = fuzz("ai3_quickstart", CASES, FIND)
    assert found == expected  # the winners with their full nvars and res, recomputed; every row
    assert found.winners["aip"].res and found.winners["aip"].res == expected.winners["aip"].res
    assert calls[-1] == (60, 60)


def test_a_find_function_is_refused_with_another_runner():
    with pytest.raises(SimulationError, match="a find function reads every case's nvars and res"):
        fuzz("ai3_quickstart", CASES, {"aip": lambda current, new, nvars, res: new > current}, runner=scalars_only)


def test_a_runner_whose_winner_does_not_come_out_again_is_caught():
    def lying(scenario, jobs, years, workers=1, progress=None):
        for nvars, res in scalars_only(scenario, jobs, years):
            yield {**nvars, "aip": nvars["aip"] + (1 if nvars["iusdcl"] == 19 else 0)}, res

    with pytest.raises(SimulationError, match=r"find 'aip': case \d+ gave .* on the runner and .* here"):
        fuzz("ai3_quickstart", CASES, FIND, runner=lying)


def test_a_target_the_runner_did_not_return_is_named():
    def dropping(scenario, jobs, years, workers=1, progress=None):
        for nvars, res in scalars_only(scenario, jobs, years):
            yield {key: x for key, x in nvars.items() if key != "diff"}, res

    with pytest.raises(SimulationError, match="find 'diff': the runner returned no value of it"):
        fuzz("ai3_quickstart", CASES, FIND, runner=dropping)


def test_a_monte_carlo_through_a_scalars_only_runner_has_the_summary_of_run_many():
    found = monte_carlo("vc_unlock", 12, seed=3, years=0.5, runner=scalars_only)
    expected = monte_carlo("vc_unlock", 12, seed=3, years=0.5)
    pd.testing.assert_frame_equal(found.summary(), expected.summary(), check_exact=True)
    assert found.to_dict() == expected.to_dict()  # vc_unlock's variables are all scalars
