"""Fixtures the evolver's tests share: a sandbox pool per module, a migrated SQLite store per test."""

from collections.abc import Iterator

import pytest

from evolver.store import Store
from sandbox import SandboxPool


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    """One warm sandbox parent: steps run one at a time."""
    with SandboxPool(workers=1) as pool:
        yield pool


@pytest.fixture
def store(tmp_path) -> Store:
    """An empty, migrated lineage store in the test's directory."""
    store = Store(f"sqlite:///{tmp_path / 'lineage.db'}")
    store.upgrade()
    return store
