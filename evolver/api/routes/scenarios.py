"""Scenarios: the built-in ones, and one run of a scenario with some variables overridden."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status

import simcore
from evolver.api.deps import Limit, Offset, SettingsDep, admit
from evolver.api.schemas import INVALID, THROTTLED, Page, Problem, ScenarioOut, SimulateIn, SimulationOut
from evolver.report import jsonable

router = APIRouter(tags=["scenarios"], responses=INVALID)


@router.get("/scenarios")
def list_scenarios(offset: Offset = 0, limit: Limit = 50) -> Page[ScenarioOut]:
    """The built-in scenarios by name: description, variables' defaults, slot (goal, comp) and graphs."""
    names = simcore.builtin_names()
    items = [_scenario(simcore.load_scenario(name)) for name in names[offset : offset + limit]]
    return Page(items=items, total=len(names), offset=offset, limit=limit)


@router.post(
    "/scenarios/{name}/simulate",
    responses={
        400: {"model": Problem, "description": "The body is not JSON."},
        404: {"model": Problem, "description": "No such built-in scenario."},
        422: {
            "model": Problem,
            "description": "An unknown variable, a run the values make impossible, or more years than the server's "
            "cap (EVOLVER_API_MAX_SIMULATED_YEARS, the `maximum` of `years`).",
        },
        **THROTTLED,
    },
)
def simulate(name: str, body: SimulateIn, request: Request, settings: SettingsDep) -> SimulationOut:
    """Run a built-in scenario once with the variables given overridden: the variables as computed, the final
    state and the daily stats. Without the token, a client host may ask for a few at once and then some a minute
    (429 with `Retry-After` beyond); `years` has a cap (this document's `maximum`), whoever asks."""
    if name not in simcore.builtin_names():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no built-in scenario {name!r}; GET /scenarios lists them")
    scenario = simcore.load_scenario(name)
    years = scenario.years if body.years is None else body.years
    _check_cost(name, years, settings.api_max_simulated_years)
    admit(request)
    result = simcore.simulate(scenario, years, body.variables, body.seed)
    return SimulationOut(
        scenario=name, seed=body.seed, years=years, variables=jsonable(result.nvars), result=jsonable(result.res),
        stats=jsonable(result.stats),
    )  # fmt: skip


def _check_cost(name: str, years: float, max_years: float) -> None:
    """Refuses a simulation that would cost more than the cap. Its cost is years x runs, and a request runs once:
    measured here, a simulated year costs at most ~0.04 s of CPU (orderbook; serialising the daily stats
    included), so the default cap keeps a request under a second."""
    if years > max_years:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"years: {years:g} is more than this server simulates in one request ({max_years:g} years: "
            f"EVOLVER_API_MAX_SIMULATED_YEARS; a request's cost is its years, as it runs once); send `years` of at "
            f"most {max_years:g}, or run `evolver simulate {name} --years {years:g}` on your own machine",
        )


def _scenario(scenario: simcore.Scenario) -> ScenarioOut:
    variables = {
        key: {"name": variable.name, "value": None if callable(variable.val) else variable.val}
        for key, variable in scenario.variables.items()
    }
    slot = scenario.slot
    return ScenarioOut(
        name=scenario.name, title=scenario.title, description=scenario.description, years=scenario.years,
        variables=jsonable(variables), goal=slot.goal if slot else None, comp=slot.comp if slot else None,
        graphs=jsonable([dict(graph) for graph in scenario.graphs]),
    )  # fmt: skip
