"""`evolver serve`: the HTTP API and the web page under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from evolver.cli.edge import SERVICE, app, user_errors


@app.command("serve", rich_help_panel=SERVICE)
def serve(
    host: Annotated[str, typer.Option("--host", help="The address to listen on (0.0.0.0: every interface).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", help="The port to listen on.", min=0, max=65535)] = 8000,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs) and the web page (/): jobs, lineage trees, candidates, tournaments.

    Writes (POST /jobs, POST /tournaments) need `Authorization: Bearer $EVOLVER_API_TOKEN`; without the
    variable set the server takes none. Jobs run on the workers when EVOLVER_BROKER_URL is set, else here.
    """
    import uvicorn

    from evolver.api import create_app
    from evolver.launch import open_store
    from evolver.settings import Settings
    from evolver.store.database import masked

    with user_errors():
        settings = Settings()
        store = open_store(settings, write=True)  # an unreachable database: one error line, no server
    writes = "on (bearer token)" if settings.api_token and settings.api_token.get_secret_value() else "off"
    runs = f"on the workers at {masked(settings.broker_url)}" if settings.broker_url else "in this process"
    typer.echo(f"evolver: {masked(settings.database_url)}; jobs run {runs}; writes {writes}", err=True)
    typer.echo(f"the page: http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}/  |  the API: /docs", err=True)
    uvicorn.run(create_app(settings, store), host=host, port=port, log_level="info")
