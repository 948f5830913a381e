"""Verification of a token design, as chip design verifies a circuit: specs over KPIs, Monte Carlo yield, rare
failures from the margin's tail, worst-case corners over the components' parameter bounds, global sensitivity.

Every study runs its simulations through one runner with `simcore.batch.run_many`'s signature (`runs.Runner`), so
another executor can be passed; every result has `to_dict()` (plain JSON data), `table` (pandas) and `chart(path)`.
"""

from simcore.verification.corners import CornerResult, worst_corner
from simcore.verification.rare import TailResult, fit_tail, rare_event
from simcore.verification.runs import Runner
from simcore.verification.sensitivity import SensitivityResult, sensitivity
from simcore.verification.spec import Observation, Spec, SpecError, Specs, as_specs, parse_spec
from simcore.verification.yields import YieldResult, monte_carlo_yield, proportion_interval

__all__ = [
    "CornerResult",
    "Observation",
    "Runner",
    "SensitivityResult",
    "Spec",
    "SpecError",
    "Specs",
    "TailResult",
    "YieldResult",
    "as_specs",
    "fit_tail",
    "monte_carlo_yield",
    "parse_spec",
    "proportion_interval",
    "rare_event",
    "sensitivity",
    "worst_corner",
]
