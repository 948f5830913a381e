"""What every plugin is: a spec declared in a scenario, and a live plugin built fresh for each run."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from simcore.checks import is_number
from simcore.errors import PluginError
from simcore.variables import Variable

_REQUIRED = object()


def check_amount(amount: Any, what: str) -> float:
    """`amount` if it is a positive, finite int or float (not a bool); otherwise a PluginError."""
    if not is_number(amount) or amount <= 0:
        raise PluginError(f"{what}: amount must be positive and finite (a number), got {amount!r}")
    return amount


class Plugin:
    """A plugin inside one simulation: `v` holds its simple state fields (AI3's `p.KEY.v`)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.v: dict[str, Any] = {}

    def state(self) -> dict[str, Any]:
        """A copy of the simple state, as stored in each day's stats row and in `res`."""
        return self.v.copy()

    def end_day(self, day: int) -> None:
        """Called after all players of a day, before the day's stats row is written."""


class PluginSpec:
    """A plugin as a scenario declares it: a kind and options. Subclasses set `kind` and implement both methods, and
    a kind a slot can trade on names its `market` (`simcore.markets`)."""

    kind: ClassVar[str]
    market: ClassVar[type | None] = None  # a `simcore.markets.Market` subclass, for a kind a slot trades on
    registry: ClassVar[dict[str, type[PluginSpec]]] = {}

    def __init__(self, **options: Any) -> None:
        self.options = options

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        PluginSpec.registry[cls.kind] = cls

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.options.items())})"

    def option(self, name: str, default: Any = _REQUIRED) -> Any:
        """An option's value; a missing option with no default is a PluginError naming it."""
        if name in self.options:
            return self.options[name]
        if default is _REQUIRED:
            raise PluginError(f"{self.kind} plugin needs the option {name!r}")
        return default

    def variables(self, key: str) -> dict[str, Variable]:
        """The generated variables, named `KEY_NAME` in lower case as AI3 names them."""
        raise NotImplementedError

    def build(self, key: str, v: Mapping[str, Any], plugins: Mapping[str, Plugin], rng: random.Random) -> Plugin:
        """A fresh live plugin from the options and the current variable values `v`."""
        raise NotImplementedError


def state_var(key: str, field: str, name: str, **display: Any) -> Variable:
    """A generated variable that reads the plugin's state from `r[key][field]` (None before the run)."""
    read: Callable[[Any, Any], Any] = lambda g, r: r[key][field]  # noqa: E731
    return Variable(name, read, display=display)


def spec_from_dict(key: str, spec: Any) -> PluginSpec:
    """A PluginSpec from an instance or AI3's `{"type": "dex", ...options}` dict."""
    if isinstance(spec, PluginSpec):
        return spec
    if isinstance(spec, Mapping) and "type" in spec:
        kind = spec["type"]
        if kind not in PluginSpec.registry:
            known = ", ".join(sorted(PluginSpec.registry))
            raise PluginError(f"plugin {key!r}: unknown type {kind!r} (known: {known})")
        return PluginSpec.registry[kind](**{k: x for k, x in spec.items() if k != "type"})
    raise PluginError(f"plugin {key!r}: expected a plugin spec or a dict with a 'type', got {spec!r}")
