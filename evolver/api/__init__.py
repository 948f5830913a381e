"""The HTTP API and web page (`evolver serve`)."""

from evolver.api.app import create_app

__all__ = ["create_app"]
