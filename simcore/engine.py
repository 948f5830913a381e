"""`simulate`: AI3's daily loop — variables, `before`, players day by day, `after`, `nvars`.

The loop is kept free of work that can be done once before it: players are plain calls, a day's stats
row is one dict merge, and plugin state is copied only for plugins that exist.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import TYPE_CHECKING, Any

from simcore.checks import is_number
from simcore.errors import SimulationError, player_failed, plugin_failed
from simcore.inline import Loop, compiled_loop
from simcore.plugins.base import Plugin
from simcore.rows import after_reads_rows, player_reads_rows
from simcore.scenario import Scenario, hook_caller, hook_keywords, load_scenario
from simcore.variables import Variable, compute, compute_before, realise, require_known, with_overrides

if TYPE_CHECKING:
    import pandas as pd

ScenarioRef = str | Path | ModuleType | Scenario
DAYS_PER_YEAR = 365
BEFORE_GIVEN = ("v", "p", "years")  # what `before` may take, and `after`
AFTER_GIVEN = ("v", "r", "s", "p", "years")
MAX_YEARS = 1000  # 365,000 days: the longest run (a typo of a year count would otherwise run for hours)


class Handles(dict[str, Any]):
    """`p`: the plugin handles by key, plus the run's random generator as `rng`; `p.dex` works like `p["dex"]`.

    Each handle is also set as an attribute (unless its key names a dict method), so `p.dex` in a daily loop
    is a plain attribute read.
    """

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        if key.isidentifier() and not hasattr(dict, key):
            self.__dict__[key] = value

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no plugin {name!r} (plugins: {', '.join(self)})") from None


@dataclass
class Result:
    """One simulation: `v` before the run, `nvars` after it, the final state `res` and daily `stats`."""

    v: dict[str, Any]
    nvars: dict[str, Any]
    res: dict[str, Any]
    stats: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """`nvars`, `res` and `stats` as plain data."""
        return {"nvars": self.nvars, "res": self.res, "stats": self.stats}

    def frame(self) -> pd.DataFrame:
        """The daily stats as a DataFrame, one row a day; plugin state appears as `key.field` columns."""
        return stats_frame(self.stats)


def stats_frame(stats: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Daily stats rows (a Result's, or the same rows as plain data, e.g. from the sandbox) as a DataFrame
    indexed by the day `i`; nested mappings (plugin state, a slot's wallet) become `key.field` columns."""
    import pandas as pd

    return pd.DataFrame([_flatten(row) for row in stats]).set_index("i", drop=False)


def _flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def day_count(years: float) -> int:
    """Days simulated for `years`: steps run while `step < 365 * years`, as in AI3 (0.5 year is 183 days)."""
    if not is_number(years) or years < 0:
        raise SimulationError(f"years must be a finite number >= 0, got {years!r}")
    if years > MAX_YEARS:
        raise SimulationError(
            f"years must be at most {MAX_YEARS:,} (a run of {years:g} years would not end), got {years:g}"
        )
    return math.ceil(DAYS_PER_YEAR * years)


@dataclass(frozen=True)
class _Plan:
    """What `run` works out once per scenario: its players' calls, whether anyone reads the daily rows, whether each
    hook is given `p`, how each is called (`hook_caller`), and the compiled loops by the shape of a run."""

    codes: tuple[Any, ...]
    calls: tuple[tuple[str, Any], ...]
    rows_read: bool
    before_gets_p: bool
    after_gets_p: bool
    call_before: Callable[..., Any] | None
    call_after: Callable[..., Any] | None
    loops: dict[tuple[Any, ...], Loop | None] = field(default_factory=dict)

    def loop(
        self, keys: tuple[str, ...], v_keys: tuple[str, ...], plugins: int, enders: bool, rows: bool
    ) -> Loop | None:
        """The compiled loop for a run whose initial state has `keys` (`simcore.inline`), or None."""
        shape = (keys, v_keys, plugins, enders, rows)
        loop = self.loops.get(shape, False)
        if loop is False:
            loop = self.loops[shape] = compiled_loop(self.calls, keys, v_keys, plugins, enders, rows)
        return loop


def _plan(scenario: Scenario) -> _Plan:
    """The scenario's plan, made at its first run and kept on it (a Scenario never changes), and made anew if its
    players' or `after`'s code was swapped (as IPython's autoreload does)."""
    plan = scenario.__dict__.get("_plan")
    codes = (*(getattr(player.fn, "__code__", None) for player in scenario.players), getattr(scenario.after,
             "__code__", None))  # fmt: skip
    if plan is None or plan.codes != codes:
        calls = tuple((player.key, player.fn) for player in scenario.players)
        rows_read = after_reads_rows(scenario.after) or any(player_reads_rows(fn) for _, fn in calls)
        before, after = scenario.before, scenario.after
        plan = _Plan(
            codes, calls, rows_read, _gives_p(before), _gives_p(after), hook_caller(before, BEFORE_GIVEN),
            hook_caller(after, AFTER_GIVEN),
        )  # fmt: skip
        object.__setattr__(scenario, "_plan", plan)
    return plan


def _gives_p(hook: Callable[..., Any] | None) -> bool:
    names = hook_keywords(hook)
    return hook is not None and (names is None or "p" in names)


class Runs:
    """Runs of one scenario for `years`: `runs(variables, seed)` is `run(scenario, variables, years, seed, stats)`.
    What the runs share (the day count, the scenario's plan) is worked out once, so a batch (`simcore.batch`) pays for
    it once."""

    def __init__(self, scenario: Scenario, years: float, stats: bool = True) -> None:
        self.scenario, self.years, self.days, self.stats = scenario, years, day_count(years), stats
        self.plan = _plan(scenario)
        self.draws = _has_draws(scenario.variables, None)  # whether the scenario's own variables are drawn

    def __call__(
        self, variables: Mapping[str, Variable], seed: int = 0, fixed: Mapping[str, Any] | None = None
    ) -> Result:
        """One run. `fixed` sets some variables to constants, as `with_overrides` would, without new definitions
        (`constant_overrides` says when it may)."""
        scenario, plan, years = self.scenario, self.plan, self.years
        rng = None
        drawn = (self.draws or variables is not scenario.variables) and _has_draws(variables, fixed)
        if scenario.plugins or plan.before_gets_p or drawn:
            rng = random.Random(seed)
            variables = realise(variables, rng, fixed or ())
        values, settled = compute_before(variables, fixed)
        v = MappingProxyType(values)
        p = Handles()
        plugins = _plugins(scenario, v, p, rng) if scenario.plugins else []
        if rng is not None:
            p["rng"] = rng

        initial = _hook("before", plan.call_before, v, p, years)
        if initial is None:
            initial = {}
        if type(initial) is not dict and not isinstance(initial, Mapping):
            raise SimulationError(f"before must return a dict of the initial state, got {type(initial).__name__}")
        r: dict[str, Any] = {"i": 0, **initial}
        r["i"] = 0
        first = dict(r)
        enders: list[Plugin] = []
        if plugins:
            clashes = [key for key, _ in plugins if key in r]
            if clashes:
                raise SimulationError(f"state keys {clashes} clash with plugin keys of the same name; rename one")
            for key, plugin in plugins:
                first[key] = plugin.state()
            enders = [plugin for _, plugin in plugins if type(plugin).end_day is not Plugin.end_day]
        s: list[dict[str, Any]] = [first]

        rows = self.stats or plan.rows_read
        loop = plan.loop(tuple(r), tuple(values), len(plugins), bool(enders), rows)
        if "rng" not in p and (loop is None or loop.uses_p or plan.after_gets_p):
            p["rng"] = random.Random(seed)
        if loop is None:
            _days(self.days, v, r, s, p, plan.calls, plugins, enders, rows)
        else:
            loop(self.days, v, r, s, p, enders, [(key, plugin.state) for key, plugin in plugins])

        _hook("after", plan.call_after, v, r, s, p, years)
        for key, plugin in plugins:
            r[key] = plugin.state()
        return Result(v=values, nvars=compute(variables, r, settled), res=r, stats=s if rows else s[:1])


def _plugins(
    scenario: Scenario, v: Mapping[str, Any], p: Handles, rng: random.Random | None
) -> list[tuple[str, Plugin]]:
    """The scenario's plugins built for a run, each also set in `p` under its key."""
    for key, spec in scenario.plugins.items():
        try:
            p[key] = spec.build(key, v, p, rng)
        except SimulationError as exc:
            raise type(exc)(f"plugin {key!r}: {exc}") from exc
    return list(p.items())


def run(
    scenario: Scenario, variables: Mapping[str, Variable], years: float, seed: int = 0, stats: bool = True
) -> Result:
    """One simulation of `scenario` with the given variable definitions (see `simulate`).

    With `stats=False` the daily rows are built only if a player or `after` reads them (`simcore.rows`); when they
    are not, the Result's `stats` holds day 0 alone. Everything else is the same, bit for bit. The run's random
    generator is made when something could first draw from it (a random variable, a plugin, a hook or player given
    `p`): nothing drew before, so its numbers are the same."""
    return Runs(scenario, years, stats)(variables, seed)


def _days(
    days: int, v: Any, r: dict[str, Any], s: list[dict[str, Any]], p: Handles, calls: Sequence[tuple[str, Any]],
    plugins: list[tuple[str, Plugin]], enders: list[Plugin], rows: bool,
) -> None:  # fmt: skip
    """The general loop: each day the players in turn, the plugins' day's end, then (with `rows`) the day's row: the
    state, the players' entries, each plugin's state. Without rows a day's holds only what the players write to it."""
    for d in range(1, days + 1):
        r["i"] = d
        s.append({"i": d})
        for key, fn in calls:
            try:
                fn(d, v, r, s, p)
            except Exception as exc:
                raise player_failed(key, d, exc) from exc
        for plugin in enders:
            try:
                plugin.end_day(d)
            except Exception as exc:
                raise plugin_failed(plugin.key, d, exc) from exc
        if rows:
            row = r | s[d]
            for key, plugin in plugins:
                row[key] = plugin.state()
            s[d] = row


def _has_draws(variables: Mapping[str, Variable], fixed: Mapping[str, Any] | None) -> bool:
    for key, variable in variables.items():  # noqa: SIM110 - twice as fast as any() over a generator, once a run
        if variable.draw is not None and not (fixed and key in fixed):
            return True
    return False


def _hook(name: str, call: Callable[..., Any] | None, *given: Any) -> Any:
    """`before` or `after` called with those of `given` it takes (`_Plan.call_before`, `call_after`)."""
    if call is None:
        return None
    try:
        return call(*given)
    except SimulationError as exc:
        raise SimulationError(f"{name} failed: {exc}") from exc
    except Exception as exc:
        raise SimulationError(f"{name} failed: {type(exc).__name__}: {exc}") from exc


class Simulator:
    """AI3's object: a scenario with variable overrides; `get` reads a variable before or after a run."""

    def __init__(self, scenario: ScenarioRef, overrides: Mapping[str, Any] | None = None) -> None:
        self.scenario = load_scenario(scenario)
        self.variables = with_overrides(self.scenario.variables, overrides)
        self.result: Result | None = None
        self._before: dict[str, Any] | None = None

    def get(self, key: str) -> Any:
        """A variable's current value: from `v` before any run, from the last run's `nvars` after one."""
        require_known(key, self.variables)
        if self.result is not None:
            return self.result.nvars[key]
        if self._before is None:
            self._before = compute(self.variables)
        return self._before[key]

    def simulate(self, years: float | None = None, seed: int = 0) -> Result:
        """Run once for `years` (default: the scenario's), with the run's RNG seeded by `seed`."""
        self.result = run(self.scenario, self.variables, self.scenario.years if years is None else years, seed)
        return self.result


def simulate(
    scenario: ScenarioRef, years: float | None = None, overrides: Mapping[str, Any] | None = None, seed: int = 0
) -> Result:
    """Simulate a scenario (a built-in name, a file path, a module or a Scenario) once."""
    return Simulator(scenario, overrides).simulate(years, seed)
