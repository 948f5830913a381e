"""What the routes depend on: the app's store, runner and settings, the bearer token, and paging."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from evolver.api.runner import Runner
from evolver.api.schemas import MAX_PAGE
from evolver.settings import Settings
from evolver.store import Store

_bearer = HTTPBearer(auto_error=False, description="EVOLVER_API_TOKEN, for requests that write or spend money.")


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_runner(request: Request) -> Runner:
    return request.app.state.runner


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def require_token(
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Refuses the request unless it carries the server's bearer token (and refuses all when none is set)."""
    expected = settings.api_token.get_secret_value() if settings.api_token else ""
    if not expected:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "this server takes no writes: start `evolver serve` with EVOLVER_API_TOKEN set to accept them",
        )
    given = credentials.credentials if credentials and credentials.scheme.lower() == "bearer" else ""
    if not secrets.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid bearer token is required: send `Authorization: Bearer <EVOLVER_API_TOKEN>`",
            headers={"WWW-Authenticate": "Bearer"},
        )


StoreDep = Annotated[Store, Depends(get_store)]
RunnerDep = Annotated[Runner, Depends(get_runner)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Authorized = Depends(require_token)
MAX_ID = 2**63 - 1  # the store's ids are 64-bit: a larger one names nothing, and is refused before any query
JobId = Annotated[int, Path(ge=1, le=MAX_ID, description="A job or tournament id (GET /jobs).")]
CandidateId = Annotated[int, Path(ge=1, le=MAX_ID, description="A candidate id (GET /jobs/{job_id}/lineage).")]
Offset = Annotated[int, Query(ge=0, le=2**31, description="Items to skip.")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"Items per page, at most {MAX_PAGE}.")]
