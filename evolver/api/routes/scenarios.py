"""Scenarios: the built-in ones, and one run of a scenario with some variables overridden."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

import simcore
from evolver.api.deps import Limit, Offset
from evolver.api.schemas import INVALID, Page, Problem, ScenarioOut, SimulateIn, SimulationOut
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
        422: {"model": Problem, "description": "An unknown variable, or a run the values make impossible."},
    },
)
def simulate(name: str, body: SimulateIn) -> SimulationOut:
    """Run a built-in scenario once with the variables given overridden: the variables as computed, the final
    state and the daily stats."""
    if name not in simcore.builtin_names():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no built-in scenario {name!r}; GET /scenarios lists them")
    scenario = simcore.load_scenario(name)
    result = simcore.simulate(scenario, body.years, body.variables, body.seed)
    return SimulationOut(
        scenario=name, seed=body.seed, years=scenario.years if body.years is None else body.years,
        variables=jsonable(result.nvars), result=jsonable(result.res), stats=jsonable(result.stats),
    )  # fmt: skip


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
