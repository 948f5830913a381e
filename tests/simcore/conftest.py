"""Shared test fixtures."""

import types
from collections.abc import Callable
from typing import Any

import pytest

import simcore


@pytest.fixture
def make_scenario() -> Callable[..., simcore.Scenario]:
    """`make_scenario(vars=..., players=..., ...)`: a Scenario from a fresh module holding those attributes."""

    def build(**attrs: Any) -> simcore.Scenario:
        module = types.ModuleType("test_scenario", "A scenario built by a test.")
        module.__dict__.update(attrs)
        return simcore.load_scenario(module)

    return build
