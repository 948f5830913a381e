"""The store's schema revision against the one this evolver's code needs, read without importing Alembic.

Reading never creates or changes a store; writing upgrades SQLite (one machine: nothing else runs on an older
schema) and an empty database, but never an older PostgreSQL store, which workers may be using:
`evolver db upgrade` does that, once they are stopped.
"""

from __future__ import annotations

from evolver.errors import StoreError
from evolver.store.store import Store

SCHEMA_HEAD = "0009"  # the newest revision in evolver/migrations/versions (a test keeps the two equal)


def check_schema(store: Store) -> None:
    """Raises a StoreError unless the store exists at SCHEMA_HEAD; creates and changes nothing, not even a file."""
    path = store.file
    if path is not None and not path.exists():
        raise StoreError(
            f"no lineage store at {store.url} yet: run a job first (`evolver evolve ai3_plugins`) "
            "or `evolver db upgrade`"
        )
    revision = _known(store)
    if revision is None:
        raise StoreError(f"the store at {store.url} has no tables yet: run `evolver db upgrade`")
    if revision != SCHEMA_HEAD:
        raise StoreError(f"{_behind(store, revision)}: run `evolver db upgrade`")


def prepare_for_writes(store: Store) -> None:
    """Brings a SQLite store or an empty database to SCHEMA_HEAD; an older PostgreSQL store is a StoreError
    (workers may be running on it), as is a newer schema."""
    revision = _known(store)
    if revision == SCHEMA_HEAD:
        return
    if revision is not None and store.file is None:
        raise StoreError(f"{_behind(store, revision)}: stop the workers and run `evolver db upgrade`")
    store.upgrade()


def upgrade_to_head(store: Store) -> str | None:
    """Brings the store to SCHEMA_HEAD whatever its backend (a newer schema is a StoreError); returns the
    revision it was at (None: no tables)."""
    revision = _known(store)
    if revision != SCHEMA_HEAD:
        store.upgrade()
    return revision


def _known(store: Store) -> str | None:
    """The store's revision: None, an older one or SCHEMA_HEAD; any other (a newer one) is a StoreError."""
    revision = store.revision()
    if revision not in (None, SCHEMA_HEAD) and not _older(revision):
        raise StoreError(
            f"the store at {store.url} has schema {revision}, newer than this evolver's ({SCHEMA_HEAD}): "
            "upgrade evolver on this machine"
        )
    return revision


def _older(revision: str) -> bool:
    """Revisions are numbered 0001, 0002, ... (a test checks it), so the older ones are known without Alembic."""
    return revision.isdigit() and len(revision) == len(SCHEMA_HEAD) and 0 < int(revision) < int(SCHEMA_HEAD)


def _behind(store: Store, revision: str) -> str:
    return f"the store at {store.url} is at schema {revision}, this evolver needs {SCHEMA_HEAD}"
