"""Opening the lineage store: an engine for a SQLite or PostgreSQL URL, and database failures as StoreErrors.

Every message names the URL with its password masked and says what to do.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from evolver.errors import StoreError

BACKENDS = ("sqlite", "postgresql")
CONNECT_TIMEOUT = 10  # seconds: an unreachable PostgreSQL host fails fast instead of hanging a job
BUSY_TIMEOUT = 30  # seconds a SQLite writer waits for another one's lock before "database is locked"
# SQLite checks foreign keys only when asked, per connection (PostgreSQL always does). A file is written in WAL
# mode (readers and the writer do not block each other; a commit appends to the log) with one sync per
# checkpoint instead of per commit: a power cut may lose the last commits, never the file's consistency.
_PRAGMAS = ("foreign_keys = ON",)
_FILE_PRAGMAS = ("journal_mode = WAL", "synchronous = NORMAL")
_EXAMPLES = "e.g. sqlite:///evolver.db or postgresql+psycopg://user:password@host:5432/evolver"
_UNDEFINED_TABLE = "42P01"  # PostgreSQL's SQLSTATE for a missing relation


def masked(url: str) -> str:
    """The URL with its password replaced by `***`, also for text that does not parse as a URL."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def open_engine(url: str) -> Engine:
    """An engine for `url` (no connection is made yet); `postgresql://` means the psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise StoreError(f"{masked(url)!r} is not a database URL: check EVOLVER_DATABASE_URL ({_EXAMPLES})") from exc
    backend = parsed.get_backend_name()
    if backend not in BACKENDS:
        raise StoreError(
            f"the lineage store runs on SQLite or PostgreSQL, not {backend!r} ({masked(url)}): "
            f"check EVOLVER_DATABASE_URL ({_EXAMPLES})"
        )
    connect_args: dict[str, Any] = {}
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        if "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = CONNECT_TIMEOUT
    elif "timeout" not in parsed.query:
        connect_args["timeout"] = BUSY_TIMEOUT
    try:
        engine = create_engine(parsed, pool_pre_ping=True, connect_args=connect_args, json_serializer=_json_without_nan)
    except (ArgumentError, ImportError) as exc:  # an unknown or missing driver
        raise StoreError(f"cannot use {masked(url)}: {exc}; check EVOLVER_DATABASE_URL ({_EXAMPLES})") from exc
    if backend == "sqlite":
        event.listen(engine, "connect", _pragmas(*_PRAGMAS, *(_FILE_PRAGMAS if _on_disk(parsed) else ())))
    return engine


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (relative to the working directory, as SQLite opens it); None for PostgreSQL or
    an in-memory database. The URL must parse (`open_engine` checks it)."""
    parsed = make_url(url)
    return Path(str(parsed.database)) if parsed.get_backend_name() == "sqlite" and _on_disk(parsed) else None


def _on_disk(parsed: URL) -> bool:
    return parsed.database not in (None, "", ":memory:") and parsed.query.get("mode") != "memory"


def _json_without_nan(value: Any) -> str:
    """JSON with NaN and infinities written as null: PostgreSQL refuses them and SQLite would keep them, so
    both backends store the same thing (a disqualified candidate's NaN metric reads back as None)."""
    return json.dumps(_finite(value))


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _pragmas(*settings: str) -> Callable[[Any, Any], None]:
    """A "connect" listener that applies the SQLite settings to each new connection."""

    def connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for setting in settings:
            cursor.execute(f"PRAGMA {setting}")
        cursor.close()

    return connect


@contextmanager
def transaction(engine: Engine, url: str) -> Iterator[Connection]:
    """A connection in a transaction, committed when the block ends and rolled back if it raises."""
    try:
        connection = engine.connect()
    except DBAPIError as exc:
        raise StoreError(
            f"cannot open the lineage store at {masked(url)}: {_reason(exc)}. "
            "Check EVOLVER_DATABASE_URL and that the database server is running and reachable."
        ) from exc
    try:
        with connection, connection.begin():
            yield connection
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == _UNDEFINED_TABLE or "no such table" in str(exc.orig):
            raise StoreError(
                f"the lineage store at {masked(url)} is not set up ({_reason(exc)}): run its migrations with "
                "`evolver db upgrade` (or `alembic upgrade head` from the project root)"
            ) from exc
        raise StoreError(f"the lineage store at {masked(url)} refused the operation: {_reason(exc)}") from exc


def _reason(exc: DBAPIError) -> str:
    """The driver's own message, first line only (the SQL and its parameters stay out of it)."""
    text = str(exc.orig).strip()
    return text.splitlines()[0] if text else type(exc.orig).__name__
