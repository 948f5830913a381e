"""What the routes depend on: the app's store, runner and settings, the bearer token, paging, and the rate limit
of the open requests that compute."""

from __future__ import annotations

import math
import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from evolver.api.runner import Runner
from evolver.api.schemas import MAX_PAGE
from evolver.api.throttle import RateLimiter, RenderQueue
from evolver.settings import Settings
from evolver.store import Store

_bearer = HTTPBearer(auto_error=False, description="EVOLVER_API_TOKEN, for requests that write or spend money.")


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_runner(request: Request) -> Runner:
    return request.app.state.runner


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_renders(request: Request) -> RenderQueue:
    return request.app.state.renders


def require_token(
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Refuses the request unless it carries the server's bearer token (and refuses all when none is set)."""
    if not (settings.api_token and settings.api_token.get_secret_value()):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "this server takes no writes: start `evolver serve` with EVOLVER_API_TOKEN set to accept them",
        )
    given = credentials.credentials if credentials and credentials.scheme.lower() == "bearer" else ""
    if not _is_token(settings, given):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid bearer token is required: send `Authorization: Bearer <EVOLVER_API_TOKEN>`",
            headers={"WWW-Authenticate": "Bearer"},
        )


def _is_token(settings: Settings, given: str) -> bool:
    """Whether `given` is the server's token (compared in constant time); never, when the server has none."""
    expected = settings.api_token.get_secret_value() if settings.api_token else ""
    return bool(expected) and secrets.compare_digest(given.encode(), expected.encode())


def admit(request: Request) -> None:
    """Counts a token-free request that is about to compute against its client's rate, or refuses it with a 429
    saying when to retry. Called by the route just before the work, so a request refused for another reason
    (a 404, a 422, a cached chart) costs the client nothing. The client is the request's host: behind a proxy on
    this machine, uvicorn takes it from X-Forwarded-For (it trusts that header from 127.0.0.1 only).

    A request with the valid token passes: its holder may already start jobs that cost far more."""
    settings: Settings = request.app.state.settings
    scheme, given = get_authorization_scheme_param(request.headers.get("Authorization"))
    if scheme.lower() == "bearer" and _is_token(settings, given):
        return
    limiter: RateLimiter = request.app.state.limiter
    host = request.client.host if request.client else "unknown"
    wait = limiter.take(host)
    if wait:
        seconds = max(1, math.ceil(wait))
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many simulations and charts from {host}: at most {limiter.burst} at once, then "
            f"{limiter.per_minute:g} a minute (the server's EVOLVER_API_BURST and EVOLVER_API_RATE_PER_MINUTE); "
            f"retry in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )


StoreDep = Annotated[Store, Depends(get_store)]
RunnerDep = Annotated[Runner, Depends(get_runner)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
RendersDep = Annotated[RenderQueue, Depends(get_renders)]
Authorized = Depends(require_token)
MAX_ID = 2**63 - 1  # the store's ids are 64-bit: a larger one names nothing, and is refused before any query
JobId = Annotated[int, Path(ge=1, le=MAX_ID, description="A job or tournament id (GET /jobs).")]
CandidateId = Annotated[int, Path(ge=1, le=MAX_ID, description="A candidate id (GET /jobs/{job_id}/lineage).")]
Offset = Annotated[int, Query(ge=0, le=2**31, description="Items to skip.")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"Items per page, at most {MAX_PAGE}.")]
