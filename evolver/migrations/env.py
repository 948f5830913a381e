"""Alembic's entry point for the lineage store.

Run by `alembic` (the database is EVOLVER_DATABASE_URL, read through the service's Settings) or by
`Store.upgrade()`, which hands over its own open connection in `config.attributes["connection"]`.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from evolver.settings import Settings
from evolver.store.database import open_engine, transaction
from evolver.store.models import Base

config = context.config
if config.config_file_name is not None and not config.attributes.get("connection"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def run(connection: Connection) -> None:
    # Batch mode lets later migrations alter SQLite tables (it copies them); PostgreSQL alters in place.
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    url = Settings().database_url
    engine = open_engine(url)
    try:
        with transaction(engine, url) as connection:  # database failures become StoreErrors naming the URL
            run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("the lineage store's migrations run online only: drop --sql")
run_online()
