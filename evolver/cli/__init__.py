"""The `evolver` command line (the console script is `evolver.cli:app`); each module registers its commands."""

from evolver.cli import components, db, evolution, games, serve, service, simulation, verify  # noqa: F401 - importing registers the commands
from evolver.cli.edge import app

__all__ = ["app"]
