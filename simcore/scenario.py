"""Scenarios: trusted Python modules that describe a token economy, loaded by built-in name or file path.

A scenario module defines, as AI3's `token.js` does:

- `vars`: `{key: {"name": ..., "val": number | fn}}` (or `var(...)`); AI3's `__title__` and
  `__plugins__` entries are understood;
- `before(v)` returning the initial state `r`, `after(v, r, s, p)`, each called with the keywords it names
  (`v`, `r`, `s`, `p`, `years`);
- `players`: `[{"key": ..., "desc": ..., "fn": fn}]` (or `Player(...)`), each called `fn(i, v, r, s, p)`;
- optionally `plugins = {key: spec}`, `components = {key: component}` (`simcore.components`: each adds its
  parameters as variables, `KEY_PARAM`, and the plugin the simulator runs it as, if any, under `key`), `years`,
  `graphs`, `cols`, `table` (AI3's dashboard hints), `slot` (where an evolved player plays: a `simcore.slot.Slot`
  or a dict of its fields), `game` (its seeds and reference: a `simcore.game.Game` or a dict of its fields),
  `criteria` (the rows of a design matrix: `simcore.criteria`) and a module docstring whose first line describes the
  scenario.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import inspect
import pkgutil
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from simcore import plugins as _plugins  # noqa: F401 - registers the built-in plugin kinds
from simcore import scenarios as _builtins
from simcore.criteria import Criterion, criteria_for
from simcore.errors import ScenarioError, SimulationError
from simcore.game import Game, game_for
from simcore.plugins.base import PluginSpec, spec_from_dict
from simcore.slot import Slot, slot_for
from simcore.variables import Variable, as_variable

if TYPE_CHECKING:
    from simcore.components import Component

HOOK_ARGUMENTS = ("v", "r", "s", "p", "years")
RESERVED_KEYS = ("rng",)


@dataclass(frozen=True)
class Player:
    """A background player: `fn(i, v, r, s, p)` is called once a day, in list order."""

    key: str
    fn: Callable[..., Any]
    desc: str = ""


@dataclass(frozen=True)
class Scenario:
    """A loaded scenario; `variables` holds the user's and the plugins' and components' generated ones, and
    `components` each component's ref ("kind@version#hash": the exact definition it composed) by key."""

    name: str
    description: str
    variables: Mapping[str, Variable]
    players: tuple[Player, ...] = ()
    plugins: Mapping[str, PluginSpec] = field(default_factory=dict)
    before: Callable[..., Any] | None = None
    after: Callable[..., Any] | None = None
    years: float = 1
    title: str = ""
    graphs: Sequence[Mapping[str, Any]] = ()
    display: Mapping[str, Any] = field(default_factory=dict)
    module: ModuleType | None = None
    slot: Slot | None = None
    game: Game | None = None
    components: Mapping[str, str] = field(default_factory=dict)
    criteria: tuple[Criterion, ...] = ()


def call_hook(hook: Callable[..., Any] | None, **available: Any) -> Any:
    """Call `before`/`after` with the keywords it names (all of them if it takes `**kwargs`)."""
    if hook is None:
        return None
    names = hook_keywords(hook)
    return hook(**available) if names is None else hook(**{k: x for k, x in available.items() if k in names})


def hook_caller(hook: Callable[..., Any] | None, given: tuple[str, ...]) -> Callable[..., Any] | None:
    """`caller(*values)`: `hook` called with those of the keywords `given` it names, the values in `given`'s order,
    without building the keywords each call (as `call_hook` does); None when there is no hook. `given` are our own
    names (`v`, `p`, ...), so the caller's text is ours."""
    if hook is None:
        return None
    names = hook_keywords(hook)
    passed = ", ".join(f"{key}={key}" for key in given if names is None or key in names)
    return eval(f"lambda {', '.join(given)}: hook({passed})", {"hook": hook})  # the text names only `given`


def hook_keywords(hook: Callable[..., Any] | None) -> frozenset[str] | None:
    """The keywords `hook` names (None when it takes `**kwargs`, or there is no hook)."""
    return None if hook is None else _keywords(getattr(hook, "__func__", hook))  # a bound method: its function's


@functools.cache
def _keywords(hook: Callable[..., Any]) -> frozenset[str] | None:
    """The parameter names of `hook`, or None when it takes `**kwargs` (read once per function)."""
    params = inspect.signature(hook).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return frozenset(params)


def _player(index: int, spec: Any) -> Player:
    if isinstance(spec, Player):
        return spec
    if isinstance(spec, Mapping) and callable(spec.get("fn")):
        return Player(str(spec.get("key", f"player{index}")), spec["fn"], str(spec.get("desc", "")))
    if callable(spec):
        return Player(getattr(spec, "__name__", f"player{index}"), spec)
    raise ScenarioError(f"player {index} must be {{'key': ..., 'fn': fn}} or a function, got {spec!r}")


def from_module(module: ModuleType, name: str | None = None) -> Scenario:
    """Build a Scenario from a module's attributes; malformed parts raise ScenarioError naming them."""
    name = name or module.__name__.rsplit(".", 1)[-1]
    raw_vars = dict(getattr(module, "vars", getattr(module, "variables", {})))
    title = str(raw_vars.pop("__title__", getattr(module, "title", "")))
    plugin_decls = dict(raw_vars.pop("__plugins__", {}))
    plugin_decls.update(getattr(module, "plugins", {}))
    try:
        composed = _components(getattr(module, "components", {}), plugin_decls)
        plugin_decls.update({key: spec for key, c in composed.items() if (spec := c.plugin(key)) is not None})
        variables = {key: as_variable(key, spec) for key, spec in raw_vars.items()}
        plugin_specs = {key: spec_from_dict(key, spec) for key, spec in plugin_decls.items()}
        for key in dict.fromkeys([*plugin_specs, *composed]):
            if key in RESERVED_KEYS:
                raise ScenarioError(f"plugin key {key!r} is reserved")
            for var_key, variable in _generated(key, plugin_specs.get(key), composed.get(key)).items():
                variables.setdefault(var_key, variable)  # a user's definition wins, as in AI3
        players = tuple(_player(i, spec) for i, spec in enumerate(getattr(module, "players", [])))
        slot = slot_for(getattr(module, "slot", None), plugin_specs, variables, len(players))
        game = game_for(getattr(module, "game", None), slot is not None)
        criteria = criteria_for(getattr(module, "criteria", None), slot is not None)
        if game is not None and not game.random and any(v.draw is not None for v in variables.values()):
            game = replace(game, random=True)  # random variables make every seed its own market
    except SimulationError as exc:
        raise ScenarioError(f"scenario {name!r}: {exc}") from exc
    doc = (module.__doc__ or "").strip()
    return Scenario(
        name=name,
        description=str(getattr(module, "description", doc.splitlines()[0] if doc else "")),
        variables=variables,
        players=players,
        plugins=plugin_specs,
        before=getattr(module, "before", None),
        after=getattr(module, "after", None),
        years=getattr(module, "years", 1),
        title=title,
        graphs=tuple(getattr(module, "graphs", ())),
        display={k: getattr(module, k) for k in ("cols", "table") if hasattr(module, k)},
        module=module,
        slot=slot,
        game=game,
        components={key: c.ref() for key, c in composed.items()},
        criteria=criteria,
    )


def _components(decls: Mapping[str, Any], plugins: Mapping[str, Any]) -> dict[str, Component]:
    """The scenario's components by key (instances, or `{"kind": ..., **parameters}`); a key a plugin has too is
    refused: a component brings its own plugin, or none."""
    if not decls:
        return {}
    from simcore.components import as_component  # pydantic: imported only for a scenario that composes components

    for key in decls:
        if key in plugins:
            raise ScenarioError(f"component {key!r}: a plugin has the same key (a component brings its own plugin)")
    return {key: as_component(key, spec) for key, spec in decls.items()}


def _generated(key: str, spec: PluginSpec | None, composed: Component | None) -> dict[str, Variable]:
    """The variables a plugin and a component generate under `key`, in the plugin's order; a component's own (its
    parameters, with their descriptions, units and bounds) replace the plugin's of the same name."""
    generated = spec.variables(key) if spec is not None else {}
    return generated | (composed.variables(key) if composed is not None else {})


def builtin_names() -> list[str]:
    """The names of the built-in scenarios."""
    return list(_builtin_names())


@functools.cache
def _builtin_names() -> tuple[str, ...]:
    """Read once: the package does not change while the process runs."""
    return tuple(sorted(m.name for m in pkgutil.iter_modules(_builtins.__path__) if not m.name.startswith("_")))


def load_scenario(ref: str | Path | ModuleType | Scenario) -> Scenario:
    """A Scenario from a built-in name, a `.py` file path, a module, or a Scenario (returned as is).

    A name or a file is loaded once per content: the same text gives the same Scenario object (its definitions are
    shared, never changed by a run), and a file whose text changed is imported anew."""
    if isinstance(ref, Scenario):
        return ref
    if isinstance(ref, ModuleType):
        return from_module(ref)
    text = str(ref)
    if text in _builtin_names():
        module = importlib.import_module(f"{_builtins.__name__}.{text}")
        return _loaded(module.__file__ or text, _digest(module.__file__), text)
    path = Path(text)
    if path.suffix == ".py" and path.is_file():
        return _loaded(str(path.resolve()), _digest(path), None)
    known = ", ".join(builtin_names())
    raise ScenarioError(f"unknown scenario {text!r}: not a built-in ({known}) and not an existing .py file")


def _digest(path: str | Path | None) -> str:
    """The content hash of a scenario's source file ("" when it has none)."""
    return hashlib.blake2b(Path(path).read_bytes(), digest_size=16).hexdigest() if path else ""


@functools.lru_cache(maxsize=128)
def _loaded(path: str, digest: str, builtin: str | None) -> Scenario:
    """The scenario at `path` whose source hashes to `digest` (a built-in's by its name): loaded once per content."""
    if builtin is not None:
        return from_module(importlib.import_module(f"{_builtins.__name__}.{builtin}"))
    return from_module(_import_file(Path(path)), Path(path).stem)


def _import_file(path: Path) -> ModuleType:
    module_name = f"simcore_scenario_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ScenarioError(f"scenario file {path} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        line = next(
            (f.lineno for f in reversed(traceback.extract_tb(exc.__traceback__)) if f.filename == str(path)), None
        )
        where = f" at line {line}" if line else ""
        raise ScenarioError(f"scenario file {path} raised {type(exc).__name__}{where}: {exc}") from exc
    return module
