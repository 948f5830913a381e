"""The HTTP API and the web page, one FastAPI app: `evolver serve` runs it under uvicorn.

Reads are open; requests that write or spend money (submitting a job or tournament) need the bearer token
EVOLVER_API_TOKEN. The open requests that compute (a simulation, a chart) are bounded: years per simulation, a
rate per client host, and a queue of charts to draw (`throttle.py`). Every error is JSON `{"error": ...}` saying
what was wrong and how to fix it. The page is plain HTML, CSS and JavaScript served from `static/`: nothing to
build.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.exceptions import HTTPException

import sandbox
import simcore
from evolver.api.routes import candidates, jobs, scenarios
from evolver.api.runner import Runner
from evolver.api.throttle import RateLimiter, RenderQueue
from evolver.errors import EvolverError, StoreError
from evolver.launch import open_store
from evolver.queue import QueueError
from evolver.settings import Settings
from evolver.store import Store

STATIC = Path(__file__).with_name("static")
log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    """The app over `store` (default: the settings' database, opened to write); jobs run as the settings say."""
    settings = settings or Settings()
    store = store or open_store(settings, write=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.runner.close()

    app = FastAPI(
        title="evolver",
        summary="Language models write player functions for token-economy scenarios; evolve, compare, export.",
        version=metadata.version("evolver"),
        lifespan=lifespan,
    )
    app.state.settings, app.state.store, app.state.runner = settings, store, Runner(store, settings)
    app.state.limiter = RateLimiter(settings.api_rate_per_minute, settings.api_burst)
    app.state.renders = RenderQueue(settings.api_chart_queue, candidates.CACHED_CHARTS)
    for router in (jobs.router, candidates.router, scenarios.router):
        app.include_router(router)
    _declare_the_simulation_cap(app, settings.api_max_simulated_years)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_api_route("/", _page, include_in_schema=False)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(ValidationError, _invalid_spec)
    app.add_exception_handler(EvolverError, _evolver_error)
    app.add_exception_handler(simcore.SimulationError, _unprocessable)
    app.add_exception_handler(sandbox.SandboxError, _unprocessable)
    app.add_exception_handler(Exception, _unexpected)
    return app


def _declare_the_simulation_cap(app: FastAPI, max_years: float) -> None:
    """Writes the server's cap on a simulation's years into its OpenAPI document as the `maximum` of `years`: the
    cap is a setting, so no static schema can hold it, and the route, not the schema, enforces it."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            years = build()["components"]["schemas"]["SimulateIn"]["properties"]["years"]
            number = next(option for option in years["anyOf"] if option.get("type") == "number")
            number["maximum"] = max_years
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the document


def _page() -> FileResponse:
    return FileResponse(STATIC / "index.html")


def _problem(code: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": " ".join(message.split()), **extra}, code, headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return _problem(exc.status_code, str(exc.detail), exc.headers)


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = jsonable_encoder(exc.errors(), exclude={"input", "url"})
    first = problems[0] if problems else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(part) for part in first["loc"])
    message = f"{where}: {first['msg']}" if where else first["msg"]
    return _problem(status.HTTP_422_UNPROCESSABLE_CONTENT, message, details=problems)


async def _invalid_spec(request: Request, exc: Exception) -> JSONResponse:
    """A body that passed its schema but not `JobSpec`'s checks across fields (e.g. a model given twice)."""
    assert isinstance(exc, ValidationError)
    problems = jsonable_encoder(exc.errors(), exclude={"input", "url", "ctx"})
    return _problem(status.HTTP_422_UNPROCESSABLE_CONTENT, problems[0]["msg"].removeprefix("Value error, "))


async def _evolver_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, StoreError | QueueError):
        return _problem(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc))
    return await _unprocessable(request, exc)


async def _unprocessable(request: Request, exc: Exception) -> JSONResponse:
    return _problem(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc) or type(exc).__name__)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return _problem(status.HTTP_500_INTERNAL_SERVER_ERROR, f"internal error ({type(exc).__name__}); see the server log")
