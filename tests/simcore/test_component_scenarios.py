"""Scenarios composed from components: their variables and plugins, the refs they record, the bonding_curve scenario
unchanged by its move to a component, and fuzz and Monte Carlo ranging over a component's bounds."""

from __future__ import annotations

import math
import re
from pathlib import Path
from types import ModuleType

import pytest

import simcore
from simcore import Simulator, Span, fuzz, load_scenario, monte_carlo, simulate
from simcore.components import BondingCurve, SigmoidBondingCurve, Vesting
from simcore.fuzz import case_ranges
from simcore.scenarios import bonding_curve
from simcore.variables import Bounds

YEARS = 0.05  # 19 days: enough to trade, quick to fuzz

# `simulate("bonding_curve", seed=3).nvars` recorded while the curve was declared as a `bonding` plugin in
# `__plugins__` (before it became a component): every number must stay bit for bit
BEFORE_SEED_3 = {
    "bond_is": 100000, "spend_max": 2000, "sell_max": 1, "spent": 373397.9336472508, "received": 312659.94240986917,
    "curve_its": 100000, "curve_p": 0.4650220994334943, "curve_ts": 485985.9491430968, "curve_fdv": 225994.20636570227,
    "bond_cap": 1, "bond_b": 1e-05, "bond_mid": 500000, "bond_ir": 1143.4579428691668, "bond_s": 485985.9491430968,
    "bond_p": 0.4650220994334943, "bond_r": 61881.449180251046, "bond_mc": 225994.20636570227,
}  # fmt: skip
PLUGIN_BEFORE = {
    "type": "bonding", "curve": "sigmoid", "cap": 1, "b": 1e-5, "mid": 500_000, "token": "curve", "reserve": "USDC",
}  # fmt: skip


def declared_as_a_plugin() -> ModuleType:
    """The bonding_curve scenario as it was: the same module, its curve a `bonding` plugin and no components."""
    module = ModuleType("bonding_curve_as_a_plugin")
    module.__dict__.update({k: x for k, x in vars(bonding_curve).items() if k != "components"})
    plugins = {**bonding_curve.vars["__plugins__"], "bond": PLUGIN_BEFORE}
    module.vars = {**bonding_curve.vars, "__plugins__": plugins}
    return module


def test_bonding_curve_gives_the_numbers_recorded_before_it_was_composed() -> None:
    nvars = simulate("bonding_curve", seed=3).nvars
    assert list(nvars) == list(BEFORE_SEED_3)  # the same variables, in the same order
    for key, before in BEFORE_SEED_3.items():
        assert nvars[key] == before, key  # == on floats: bit for bit
    assert (type(nvars["bond_cap"]), type(nvars["bond_mid"])) == (float, float)  # a component's parameters are floats


@pytest.mark.parametrize("seed", [0, 1, 2, 1000])
def test_bonding_curve_runs_as_its_old_plugin_declaration_did(seed: int) -> None:
    composed, declared = simulate("bonding_curve", seed=seed), simulate(declared_as_a_plugin(), seed=seed)
    assert composed.nvars == declared.nvars and composed.res == declared.res
    assert composed.frame().equals(declared.frame())  # every day's stats
    old, new = load_scenario(declared_as_a_plugin()), load_scenario("bonding_curve")
    assert list(new.variables) == list(old.variables) and new.slot == old.slot and new.game == old.game
    assert new.plugins["bond"].kind == "bonding"
    options = {k: x for k, x in PLUGIN_BEFORE.items() if k != "type"}
    assert new.plugins["bond"].options == {**options, "supply": 0.0}  # the component's initial supply, 0 as before


def test_the_curve_parameters_are_variables_with_the_component_description_unit_and_bounds() -> None:
    scenario = load_scenario("bonding_curve")
    cap, b, mid = (scenario.variables[f"bond_{p}"] for p in ("cap", "b", "mid"))
    assert cap.bounds == Bounds(0.0, 1e6, low_open=True) and b.bounds == Bounds(0.0, 1.0, low_open=True)
    assert mid.bounds == Bounds(0.0, 1e12) and mid.display == {"type": "tokens"}
    assert cap.desc == SigmoidBondingCurve.describe()["parameters"]["cap"]["description"]
    assert scenario.variables["bond_is"].bounds is None  # the scenario's own definition wins, as over a plugin's
    assert scenario.variables["bond_ir"].bounds is None  # the plugin's own variables stay the plugin's


def test_a_fuzz_of_a_component_parameter_moves_the_plugin() -> None:
    low, high = (Simulator("bonding_curve", {"bond_cap": cap}) for cap in (1, 4))
    assert high.get("bond_ir") == pytest.approx(4 * low.get("bond_ir"), rel=1e-12)
    assert simulate("bonding_curve", YEARS, {"bond_mid": 100_000}).nvars["bond_p"] > 0.5  # past half-way


def test_the_scenario_records_its_components_refs() -> None:
    assert load_scenario("bonding_curve").components == {"bond": SigmoidBondingCurve().ref()}
    assert re.fullmatch(r"sigmoid_bonding_curve@1#[0-9a-f]{16}", load_scenario("bonding_curve").components["bond"])
    assert load_scenario("ai3_quickstart").components == {}


# (The weighted pool was the second component here until its version 2 ran as the `weighted_pool` plugin: its KPIs
# are that plugin's live variables now, tested in test_weighted_pool.py. The power-law curve has no runtime yet.)
COMPOSED = '''"""Components without a runtime: a vesting and a power-law bonding curve, their KPIs read by a player."""
from simcore.components import Vesting

vars = {"seen": {"name": "Curve Price Seen", "val": lambda g, r: r["seen"]}}
components = {
    "vest": Vesting(total=1200, cliff=1, duration=4),
    "bond": {"kind": "bonding_curve", "base": 0.0, "slope": 2.5e-4, "exponent": 1.0, "supply": 1000},
}


def before(v):
    return {"seen": None, "vested": []}


def watch(i, v, r, s, p):
    r["seen"] = v["bond_price"]
    r["vested"].append(components["vest"].with_values("vest", v.__getitem__).vested(i / 365))


players = [{"key": "WATCH", "fn": watch}]
'''


@pytest.fixture
def composed(tmp_path: Path) -> Path:
    path = tmp_path / "composed.py"
    path.write_text(COMPOSED)
    return path


def test_a_component_without_a_runtime_adds_its_parameters_and_kpis(composed: Path) -> None:
    scenario = load_scenario(composed)
    assert scenario.plugins == {}
    assert scenario.components == {"vest": Vesting().ref(), "bond": BondingCurve().ref()}
    keys = list(scenario.variables)
    assert keys[:6] == ["seen", "vest_total", "vest_start", "vest_cliff", "vest_duration", "vest_period"]
    assert "vest_vested" not in keys  # a KPI of time, for hooks and players: `with_values(key, v).vested(t)`
    assert {"bond_price", "bond_reserve", "bond_market_cap"} <= set(keys)
    assert scenario.variables["vest_duration"].bounds == Bounds(0.0, 1e4, low_open=True)
    assert scenario.variables["bond_price"].desc.startswith("The marginal price at the current supply")
    assert Simulator(composed).get("bond_price") == pytest.approx(0.25)
    moved = Simulator(composed, {"bond_supply": 2000, "vest_cliff": 0})
    assert moved.get("bond_price") == pytest.approx(0.5)  # the KPI follows its parameters' variables
    result = simulate(composed, years=YEARS, overrides={"vest_total": 365 * 4, "vest_cliff": 0})
    assert result.nvars["seen"] == pytest.approx(0.25)
    assert result.res["vested"][:3] == pytest.approx([1.0, 2.0, 3.0])  # days 1, 2, 3, at the run's values


@pytest.mark.parametrize(
    ("components", "message"),
    [
        ('{"curve": Vesting()}', "component 'curve': a plugin has the same key"),
        ('{"v": {"kind": "vestin"}}', "component 'v': unknown component 'vestin'; known components: bonding_curve"),
        ('{"v": {"kind": "vesting", "cliff": 5, "duration": 4}}', "component 'v':"),
        ('{"v": {"kind": "vesting", "period": -1}}', "period"),
        ('{"v": Vesting}', "component 'v': expected a component or a dict with a 'kind'"),
        ('{"rng": Vesting()}', "plugin key 'rng' is reserved"),
    ],
)
def test_malformed_components_are_refused_by_key(tmp_path: Path, components: str, message: str) -> None:
    path = tmp_path / "bad.py"
    path.write_text(
        "from simcore.components import Vesting\n"
        'vars = {"__plugins__": {"curve": {"type": "token", "ticker": "C", "supply": 1}}}\n'
        f"components = {components}\n"
    )
    with pytest.raises(simcore.ScenarioError, match=re.escape(message)):
        load_scenario(path)


VARIANT = '''"""A scenario whose curve is a local variant of the sigmoid curve."""
from pydantic import Field

from simcore.components import SigmoidBondingCurve


class Curve(SigmoidBondingCurve, register=False):
    """A sigmoid curve that may be steeper."""

    b: float = Field(1e-5, gt=0.0, le=1.0, description="Steepness.")


components = {"bond": Curve()}
'''


def test_the_ref_changes_exactly_when_the_component_definition_does(tmp_path: Path) -> None:
    def ref(name: str, source: str) -> str:
        path = tmp_path / f"{name}.py"
        path.write_text(source)
        return load_scenario(path).components["bond"]

    same = [ref(f"same{i}", VARIANT) for i in range(2)]
    steeper = ref("steeper", VARIANT.replace("le=1.0", "le=10.0"))
    body = ref("body", VARIANT.replace('"""A sigmoid curve that may be steeper."""', '"""Steeper."""'))
    assert same[0] == same[1]  # where the file lives does not matter
    assert len({same[0], steeper, body, SigmoidBondingCurve().ref()}) == 4
    assert {r.split("#")[0] for r in (same[0], steeper, body)} == {"sigmoid_bonding_curve@1"}


# --- fuzz and Monte Carlo over a component's bounds ---


def test_a_case_without_values_ranges_over_the_component_bounds() -> None:
    variables = load_scenario("bonding_curve").variables
    ranges = case_ranges(variables, {"bond_cap": None, "bond_mid": None, "spend_max": [1, 2]}, "lhs")
    assert ranges["bond_cap"] == Span(math.nextafter(0.0, 1.0), 1e6)  # the open end left out
    assert ranges["bond_mid"] == Span(0.0, 1e12) and ranges["spend_max"] == [1, 2]
    result = fuzz("bonding_curve", {"bond_cap": None}, {"bond_r": "max"}, YEARS, sample="lhs", samples=4, seed=1)
    caps = [case["bond_cap"] for case in result.cases]
    assert len(set(caps)) == 4 and all(0 < cap <= 1e6 for cap in caps)
    assert result.winners["bond_r"].nvars["bond_cap"] in caps  # the case ran with its value


@pytest.mark.parametrize(
    ("cases", "sample", "message"),
    [
        ({"bond_cap": [0.5, 0]}, "grid", "'bond_cap': 0 is outside the bounds of this component parameter, (0, 1e+06]"),
        ({"bond_b": Span(0.5, 2.0)}, "lhs", "'bond_b': the range 0.5:2 is outside the bounds"),
        ({"bond_mid": range(0, 3 * 10**12, 10**12)}, "grid", "'bond_mid': 2000000000000 is outside"),
        ({"bond_cap": None}, "grid", "'bond_cap': a grid needs a step, and its bounds (0, 1e+06] have none"),
        ({"spend_max": None}, "lhs", "'spend_max' is no component's parameter, so it has no bounds"),
    ],
)
def test_values_outside_the_bounds_are_refused_naming_them(cases: dict, sample: str, message: str) -> None:
    with pytest.raises(simcore.SimulationError, match=re.escape(message)):
        fuzz("bonding_curve", cases, {"bond_r": "max"}, YEARS, sample=sample, samples=2)


def test_values_within_the_bounds_pass_as_given() -> None:
    variables = load_scenario("bonding_curve").variables
    inside = {"bond_cap": Span(0.5, 1e6), "bond_b": [1e-6, 1.0], "bond_mid": range(0, 10**6, 10**5)}
    assert case_ranges(variables, inside) == inside


def test_monte_carlo_draws_a_varied_parameter_within_its_bounds_in_every_run() -> None:
    vary = {"bond_cap": None, "bond_mid": [200_000, 400_000]}
    first = monte_carlo("bonding_curve", 4, seed=5, years=YEARS, vary=vary)
    caps = [nv["bond_cap"] for nv in first.nvars]
    assert len(set(caps)) == 4 and all(0 < cap <= 1e6 for cap in caps)
    assert {nv["bond_mid"] for nv in first.nvars} <= {200_000, 400_000}
    again = monte_carlo("bonding_curve", 5, seed=5, years=YEARS, vary=vary)
    assert again.nvars[:4] == first.nvars  # the same seed, the same draws; more runs leave the first ones alone
    plain = monte_carlo("bonding_curve", 2, seed=5, years=YEARS)
    assert {nv["bond_cap"] for nv in plain.nvars} == {1.0}  # nothing varied: nothing drawn


@pytest.mark.parametrize(
    ("vary", "overrides", "message"),
    [
        ({"bond_cap": Span(0.0, 2.0)}, {}, "'bond_cap': the range 0:2 is outside the bounds"),
        ({"spend_max": None}, {}, "'spend_max' is no component's parameter"),
        ({"bond_cap": None}, {"bond_cap": 2}, "'bond_cap' is both fixed and varied"),
        ({"bond_p": [1, 2]}, {}, "'bond_p' is computed from the run's results"),
    ],
)
def test_monte_carlo_refuses_what_it_cannot_vary(vary: dict, overrides: dict, message: str) -> None:
    with pytest.raises(simcore.SimulationError, match=re.escape(message)):
        monte_carlo("bonding_curve", 2, years=YEARS, overrides=overrides, vary=vary)
