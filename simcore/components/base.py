"""Typed, parameterised components: the base class, its content hash and the registry of kinds.

The tecmns proposal asks for reusable component models built on `param`. We use pydantic v2 instead: it is
already a dependency, and it gives the same things `param` promises -- typed parameters, bounds
(`Field(ge=..., le=...)`), a description per parameter, validation on construction and immutable instances
(`frozen=True`) -- plus a JSON schema of every component for free, which a UI, a scenario file or an
optimiser can read without importing the class.

A component class declares `kind` (short name), `version` (an int bumped by hand when its meaning changes), a
docstring, its parameters as pydantic fields (each with a `description`; numeric ones with a lower and an upper
bound, so fuzz and Monte Carlo can sample them) and `kpis` (the names of the methods/properties it reports).
`content_hash()` fingerprints the definition itself (source code + parameter schema), so a scenario that
records `ref()` -- "kind@version#hash" -- names the exact definition it ran with, even if someone forgot to bump
`version`.

A scenario composes components (`components = {key: component}`): each adds its parameters as variables
(`variables(key)`, each with the parameter's description, unit and bounds) and, when the simulator has a runtime for
it, the plugin it runs as (`plugin(key)`), built from those variables.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
import textwrap
from collections.abc import Callable, Mapping
from functools import cache, partial
from typing import Any, ClassVar, Self

import annotated_types
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticUndefined

from simcore.errors import ScenarioError
from simcore.variables import Bounds, Variable

HASH_LENGTH = 16  # hex characters of the sha256 kept by content_hash
_KIND = re.compile(r"^[a-z][a-z0-9_]*$")

COMPONENTS: dict[str, type[Component]] = {}  # kind -> class, filled as component classes are defined


class Component(BaseModel):
    """Base of every component: frozen, validated pydantic parameters plus a self-description and a content hash.

    Subclasses are registered under their `kind` when defined; pass `register=False` in the class statement for a
    variant that must not be (a test double, a local experiment).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, validate_default=True)

    kind: ClassVar[str]
    version: ClassVar[int]
    kpis: ClassVar[tuple[str, ...]]
    depends_on: ClassVar[tuple[Any, ...]] = ()  # other classes, functions or modules whose source is part of it
    suffixes: ClassVar[Mapping[str, str]] = {}  # parameter -> its variable's suffix, where not the parameter's name

    def __init_subclass__(cls, register: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)  # `register` is read once pydantic has built the fields, below

    @classmethod
    def __pydantic_init_subclass__(cls, register: bool = True, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        _check_definition(cls)
        if register:
            known = COMPONENTS.get(cls.kind)
            if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
                raise TypeError(f"component kind {cls.kind!r} is already taken by {known.__qualname__}")
            COMPONENTS[cls.kind] = cls

    @classmethod
    def content_hash(cls) -> str:
        """sha256 (first 16 hex) of the class's source, its component ancestors' and dependencies' sources and its
        parameter schema: the same in every process, different as soon as the definition changes. The source must
        be readable (`inspect.getsource`): a class typed into a REPL or `python -c` has none and raises OSError."""
        return _content_hash(cls)

    @classmethod
    def intervals(cls) -> dict[str, Bounds]:
        """{parameter: Bounds} for the numeric parameters, open at an excluded end."""
        out = {}
        for name, spec in _parameters(cls).items():
            b = spec["bounds"]
            if spec["type"] in ("int", "float"):
                out[name] = Bounds(b.get("ge", b.get("gt")), b.get("le", b.get("lt")), "gt" in b, "lt" in b)
        return out

    @classmethod
    def bounds(cls) -> dict[str, tuple[float, float]]:
        """{parameter: (low, high)} for the numeric parameters; `intervals()` says which ends are exclusive."""
        return {name: (b.low, b.high) for name, b in cls.intervals().items()}

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """Name, version, doc, parameters (type, default, bounds, description, unit), kpis and hash, as plain data."""
        return {
            "name": cls.kind,
            "version": cls.version,
            "doc": inspect.getdoc(cls),
            "parameters": _parameters(cls),
            "kpis": list(cls.kpis),
            "hash": cls.content_hash(),
        }

    def ref(self) -> str:
        """The exact definition this instance belongs to, as a scenario records it: "kind@version#hash"."""
        return f"{self.kind}@{self.version}#{self.content_hash()}"

    def variable_key(self, key: str, param: str) -> str:
        """The scenario variable of `param` for the component composed under `key`: `KEY_PARAM` (or `KEY_SUFFIX`
        for a parameter in `suffixes`: the name its plugin gives it)."""
        return f"{key}_{self.suffixes.get(param, param)}"

    def plugin(self, key: str) -> dict[str, Any] | None:
        """The plugin the simulator runs this component as, AI3's `{"type": ..., **options}`, its options the
        parameters (so its variables of the same names are the component's, and a fuzz of one moves the plugin);
        None for a component with no runtime yet."""
        return None

    def variables(self, key: str) -> dict[str, Variable]:
        """What the component adds to a scenario under `key`: a variable per numeric parameter (its value,
        description, unit and bounds) and, without a runtime (`plugin` is None), one per KPI property, computed from
        those variables."""
        added = {self.variable_key(key, name): self._parameter(name, b) for name, b in self.intervals().items()}
        if self.plugin(key) is None:
            kpis = [kpi for kpi in self.kpis if isinstance(getattr(type(self), kpi), property)]
            added |= {f"{key}_{kpi}": self._kpi_variable(key, kpi) for kpi in kpis}
        return added

    def with_values(self, key: str, get: Callable[[str], Any]) -> Self:
        """This component with its numeric parameters read from the scenario's variables (`get`: a formula's `g`,
        or `v.__getitem__` in a hook), validated: its maths at the values a run (or a fuzz case) has."""
        values = {name: get(self.variable_key(key, name)) for name in self.intervals()}
        return self.model_validate({**self.model_dump(), **values})

    def _title(self) -> str:
        return self.kind.replace("_", " ").title()

    def _parameter(self, name: str, bounds: Bounds) -> Variable:
        spec = _parameters(type(self))[name]
        unit = {"type": spec["unit"]} if spec["unit"] else {}
        return Variable(f"{self._title()} {name}", getattr(self, name), spec["description"], unit, bounds=bounds)

    def _kpi_variable(self, key: str, kpi: str) -> Variable:
        doc = inspect.getdoc(getattr(type(self), kpi)) or ""
        return Variable(f"{self._title()} {kpi}", partial(self._kpi, key, kpi), doc)

    def _kpi(self, key: str, kpi: str, get: Callable[[str], Any]) -> Any:
        return getattr(self.with_values(key, get), kpi)


def component(kind: str) -> type[Component]:
    """The component class registered under `kind`; ScenarioError naming the known kinds otherwise."""
    try:
        return COMPONENTS[kind]
    except KeyError:
        known = ", ".join(sorted(COMPONENTS)) or "none"
        raise ScenarioError(f"unknown component {kind!r}; known components: {known}") from None


def as_component(key: str, spec: Any) -> Component:
    """A scenario's component: an instance, or `{"kind": KIND, **parameters}`; ScenarioError naming `key` otherwise."""
    if isinstance(spec, Component):
        return spec
    if not (isinstance(spec, Mapping) and "kind" in spec):
        raise ScenarioError(f"component {key!r}: expected a component or a dict with a 'kind', got {spec!r}")
    try:
        return component(spec["kind"])(**{name: value for name, value in spec.items() if name != "kind"})
    except (ScenarioError, ValidationError) as exc:
        raise ScenarioError(f"component {key!r}: {exc}") from None


def _type_name(annotation: Any) -> str:
    return annotation.__name__ if isinstance(annotation, type) else str(annotation)


def _parameters(cls: type[Component]) -> dict[str, dict[str, Any]]:
    """Each field's type, default (None when required), bounds ({"ge"|"gt"|"le"|"lt": value}), description and unit
    (`Field(json_schema_extra={"unit": ...})`, or None)."""
    params = {}
    for name, field in cls.model_fields.items():
        bounds: dict[str, float] = {}
        for meta in field.metadata:
            for op in ("ge", "gt", "le", "lt"):
                if isinstance(meta, getattr(annotated_types, op.capitalize())):
                    bounds[op] = getattr(meta, op)
        params[name] = {
            "type": _type_name(field.annotation),
            "default": None if field.default is PydanticUndefined else field.default,
            "bounds": bounds,
            "description": field.description,
            "unit": extra.get("unit") if isinstance(extra := field.json_schema_extra, dict) else None,
        }
    return params


def _check_definition(cls: type[Component]) -> None:
    """TypeError unless the class declares everything a component must (checked once, when it is defined)."""
    name = cls.__qualname__
    kind = getattr(cls, "kind", None)
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise TypeError(f"{name}: `kind` must be a short snake_case name, got {kind!r}")
    version = getattr(cls, "version", None)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise TypeError(f"{name}: `version` must be an int >= 1, got {version!r}")
    if not (cls.__doc__ or "").strip():
        raise TypeError(f"{name}: a component needs a docstring")
    kpis = getattr(cls, "kpis", None)
    if not isinstance(kpis, tuple) or not kpis or not all(isinstance(k, str) for k in kpis):
        raise TypeError(f"{name}: `kpis` must be a non-empty tuple of names")
    for kpi in kpis:
        if not hasattr(cls, kpi):
            raise TypeError(f"{name}: kpi {kpi!r} is not a method or property of the component")
    for param, spec in _parameters(cls).items():
        if not spec["description"]:
            raise TypeError(f"{name}: parameter {param!r} needs a description")
        b = spec["bounds"]
        if spec["type"] in ("int", "float") and not ({"ge", "gt"} & b.keys() and {"le", "lt"} & b.keys()):
            raise TypeError(f"{name}: numeric parameter {param!r} needs a lower and an upper bound")


def _source(obj: Any) -> str:
    return textwrap.dedent(inspect.getsource(obj))


@cache
def _content_hash(cls: type[Component]) -> str:
    ancestors = [c for c in cls.__mro__ if c not in Component.__mro__]  # its component bases and their mixins
    parts = [_source(c) for c in ancestors]
    parts += [_source(d) for d in cls.depends_on]
    parts.append(json.dumps(cls.model_json_schema(), sort_keys=True, separators=(",", ":")))
    return hashlib.sha256("\n\0\n".join(parts).encode()).hexdigest()[:HASH_LENGTH]
