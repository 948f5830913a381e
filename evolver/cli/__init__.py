"""The `evolver` command line (the console script is `evolver.cli:app`); each module registers its commands."""

from evolver.cli import (  # noqa: F401 - importing registers the commands
    components,
    db,
    evolution,
    games,
    optimise,
    serve,
    service,
    simulation,
    verify,
)
from evolver.cli.edge import app

__all__ = ["app"]
