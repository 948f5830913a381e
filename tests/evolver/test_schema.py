"""The schema check: reading never creates or migrates a store, writing upgrades SQLite but not an older
PostgreSQL store, `evolver db upgrade` upgrades either; and the SQLite connection settings (WAL, busy timeout)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import postgres
import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from evolver.cli import app
from evolver.errors import StoreError
from evolver.launch import open_store
from evolver.settings import Settings
from evolver.store import Store
from evolver.store.database import BUSY_TIMEOUT
from evolver.store.schema import SCHEMA_HEAD

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def migrate(url: str, revision: str) -> None:
    """The database at `url` brought to `revision` by Alembic itself."""
    config = Config(str(ROOT / "alembic.ini"))
    engine = create_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()


def stamp(url: str, revision: str) -> None:
    """Pretends the store was migrated to `revision` (e.g. by a newer evolver)."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :revision"), {"revision": revision})
    engine.dispose()


def revision_of(url: str) -> str | None:
    store = Store(url)
    try:
        return store.revision()
    finally:
        store.close()


def opened(url: str, write: bool = False) -> None:
    """Opens the store as the CLI does (raising its StoreError) and closes it again."""
    open_store(Settings(database_url=url), write=write).close()


def upgrade_command(url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("EVOLVER_DATABASE_URL", url)
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    return result.output.strip()


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'lineage.db'}"


@pytest.fixture
def old(url: str) -> str:
    """A SQLite store at the first schema."""
    migrate(url, "0001")
    return url


def test_schema_head_is_alembics_head_and_revisions_are_numbered() -> None:
    scripts = ScriptDirectory(str(ROOT / "evolver" / "migrations"))
    assert scripts.get_current_head() == SCHEMA_HEAD
    revisions = sorted(script.revision for script in scripts.walk_revisions())
    assert revisions == [f"{n:04d}" for n in range(1, int(SCHEMA_HEAD) + 1)]


def test_reading_a_missing_sqlite_file_creates_nothing(tmp_path: Path, url: str) -> None:
    with pytest.raises(StoreError) as caught:
        opened(url)
    assert str(caught.value) == (
        f"no lineage store at {url} yet: run a job first (`evolver evolve ai3_plugins`) or `evolver db upgrade`"
    )
    assert list(tmp_path.iterdir()) == []


def test_reading_an_empty_file_says_it_has_no_tables(tmp_path: Path, url: str) -> None:
    (tmp_path / "lineage.db").touch()
    with pytest.raises(StoreError, match=f"the store at {re.escape(url)} has no tables yet: run `evolver db upgrade`"):
        opened(url)


def test_reading_an_older_store_names_the_upgrade_and_migrates_nothing(old: str) -> None:
    expected = f"the store at {old} is at schema 0001, this evolver needs {SCHEMA_HEAD}: run `evolver db upgrade`"
    with pytest.raises(StoreError) as caught:
        opened(old)
    assert str(caught.value) == expected
    assert revision_of(old) == "0001"


def test_writing_creates_or_upgrades_a_sqlite_store(old: str, tmp_path: Path) -> None:
    opened(old, write=True)
    assert revision_of(old) == SCHEMA_HEAD
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    opened(fresh, write=True)
    assert revision_of(fresh) == SCHEMA_HEAD
    opened(fresh)  # at head: reading is fine


@pytest.mark.parametrize("write", [False, True])
def test_a_newer_schema_asks_for_a_newer_evolver(old: str, write: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    stamp(old, "9999")
    newer = f"the store at {re.escape(old)} has schema 9999, newer than this evolver's \\({SCHEMA_HEAD}\\): upgrade"
    with pytest.raises(StoreError, match=newer):
        opened(old, write=write)
    monkeypatch.setenv("EVOLVER_DATABASE_URL", old)
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 2 and re.fullmatch(f"error: {newer} evolver on this machine\n", result.output)
    assert revision_of(old) == "9999"


def test_a_sqlite_file_is_written_ahead_with_a_busy_timeout(url: str) -> None:
    opened(url, write=True)
    store = Store(url)
    with store._transaction() as connection:
        pragmas = {name: connection.execute(text(f"PRAGMA {name}")).scalar() for name in
                   ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")}  # fmt: skip
    store.close()
    assert pragmas == {"journal_mode": "wal", "synchronous": 1, "busy_timeout": BUSY_TIMEOUT * 1000, "foreign_keys": 1}
    memory = Store("sqlite://")
    with memory._transaction() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "memory"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    memory.close()


def test_the_db_upgrade_command_upgrades_once(old: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert upgrade_command(old, monkeypatch) == f"upgraded the store at {old} from 0001 to {SCHEMA_HEAD}"
    assert upgrade_command(old, monkeypatch) == f"the store at {old} is at schema {SCHEMA_HEAD} (head)"
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert upgrade_command(fresh, monkeypatch) == f"upgraded the store at {fresh} from no tables to {SCHEMA_HEAD}"
    opened(fresh)


def test_db_without_a_command_shows_its_help() -> None:
    result = runner.invoke(app, ["db"])
    assert "upgrade" in result.output and "Usage" in result.output


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    with postgres.running() as url:
        yield url


@pytest.mark.integration
def test_an_older_postgresql_store_is_upgraded_only_by_the_command(
    pg_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = postgres.create_database(pg_server, "fresh")
    opened(fresh, write=True)  # an empty database: nothing can be running on it
    assert revision_of(fresh) == SCHEMA_HEAD
    url = postgres.create_database(pg_server, "old")
    migrate(url, "0001")
    behind = f"the store at {url} is at schema 0001, this evolver needs {SCHEMA_HEAD}"
    with pytest.raises(StoreError) as caught:
        opened(url, write=True)
    assert str(caught.value) == f"{behind}: stop the workers and run `evolver db upgrade`"
    with pytest.raises(StoreError, match=re.escape(f"{behind}: run `evolver db upgrade`")):
        opened(url)
    assert revision_of(url) == "0001"
    assert upgrade_command(url, monkeypatch) == f"upgraded the store at {url} from 0001 to {SCHEMA_HEAD}"
    opened(url, write=True)
    opened(url)
