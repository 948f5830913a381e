"""`evolver db upgrade`: bring the lineage store at EVOLVER_DATABASE_URL to the schema this evolver needs."""

from __future__ import annotations

import typer

from evolver.cli.edge import SERVICE, App, app, user_errors

db = App(help="The lineage store's schema (EVOLVER_DATABASE_URL).", no_args_is_help=True)
app.add_typer(db, name="db", rich_help_panel=SERVICE)


@db.command("upgrade")
def upgrade() -> None:
    """Migrate the store to this evolver's schema, SQLite or PostgreSQL (stop the workers first).

    A new SQLite file is created; a store at the schema already is left as it is.
    """
    from evolver.settings import Settings
    from evolver.store import Store
    from evolver.store.database import masked
    from evolver.store.schema import SCHEMA_HEAD, upgrade_to_head

    with user_errors():
        url = Settings().database_url
        store = Store(url)
        try:
            before = upgrade_to_head(store)
        finally:
            store.close()
    if before == SCHEMA_HEAD:
        typer.echo(f"the store at {masked(url)} is at schema {SCHEMA_HEAD} (head)")
    else:
        typer.echo(f"upgraded the store at {masked(url)} from {before or 'no tables'} to {SCHEMA_HEAD}")
