"""Components: self-description, content hash, validation, registry, and each component's maths."""

from __future__ import annotations

import importlib.util
import itertools
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import Field, ValidationError
from scipy.integrate import quad

from simcore.agents.minter import RampedExpSchedule
from simcore.components import (
    COMPONENTS,
    BondingCurve,
    Component,
    MintingSchedule,
    Vesting,
    WeightedPool,
    component,
)
from simcore.errors import ScenarioError
from simcore.plugins.bonding import Linear
from simcore.plugins.dex import Dex

KINDS = ("bonding_curve", "vesting", "minting_schedule", "weighted_pool")
ALL = [COMPONENTS[k] for k in sorted(COMPONENTS)]


def test_the_four_components_are_registered() -> None:
    assert set(KINDS) <= set(COMPONENTS)
    assert component("bonding_curve") is BondingCurve
    assert component("weighted_pool") is WeightedPool


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.kind)
def test_every_component_describes_itself(cls: type[Component]) -> None:
    d = cls.describe()
    assert d["name"] == cls.kind
    assert isinstance(d["version"], int) and d["version"] >= 1
    assert d["doc"] and len(d["doc"]) > 20
    assert d["kpis"] and all(hasattr(cls, k) for k in d["kpis"])
    assert re.fullmatch(r"[0-9a-f]{16}", d["hash"])
    assert d["parameters"]
    for name, spec in d["parameters"].items():
        assert spec["description"], name
    bounds = cls.bounds()
    assert set(bounds) == {n for n, spec in d["parameters"].items() if spec["type"] in ("int", "float")}
    assert bounds  # the four components are all numeric
    defaults = cls()
    for name, (low, high) in bounds.items():
        assert math.isfinite(low) and math.isfinite(high) and low < high, name
        assert low <= getattr(defaults, name) <= high, name
    assert defaults.ref() == f"{cls.kind}@{cls.version}#{d['hash']}"


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.kind)
def test_kpis_report_finite_numbers(cls: type[Component]) -> None:
    c = cls()
    for kpi in cls.kpis:
        value = getattr(c, kpi)
        value = value(2) if callable(value) else value
        assert math.isfinite(value), kpi


def test_hash_is_stable_across_processes() -> None:
    code = (
        "import json, simcore.components as c;print(json.dumps({k: v.content_hash() for k, v in c.COMPONENTS.items()}))"
    )
    root = Path(__file__).resolve().parents[2]
    outs = [  # two fresh interpreters with different string-hash seeds
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root, env=env
        ).stdout
        for env in ({**os.environ, "PYTHONHASHSEED": seed} for seed in ("1", "2"))
    ]
    here = {k: COMPONENTS[k].content_hash() for k in KINDS}
    assert outs[0] == outs[1]
    for kind, h in here.items():
        assert f'"{kind}": "{h}"' in outs[0]


def test_hash_ignores_instance_values() -> None:
    a, b = BondingCurve(), BondingCurve(base=2.0, slope=0.5, exponent=2.0, supply=10.0)
    assert a != b and a.ref() == b.ref()
    assert b.mint(1.0)[1].ref() == a.ref()


class _Variant(BondingCurve, register=False):
    """A bonding curve whose exponent may go higher: a change of definition that keeps the kind."""

    exponent: float = Field(1.0, ge=0.0, le=20.0, description="Power of the supply in the price.")


def test_hash_changes_with_a_subclass_variant_but_not_the_registry() -> None:
    assert _Variant.content_hash() != BondingCurve.content_hash()
    assert _Variant().ref().startswith("bonding_curve@1#")
    assert COMPONENTS["bonding_curve"] is BondingCurve


PROBE = '''
from pydantic import Field

from simcore.components.base import Component


class Probe(Component, register=False):
    """A probe component."""

    kind = "probe"
    version = 1
    kpis = ("double",)

    x: float = Field(1.0, ge=0.0, le=10.0, description="The input.")

    def double(self) -> float:
        """Twice x."""
        return 2 * self.x
'''


def _load(path: Path, source: str, monkeypatch: pytest.MonkeyPatch) -> type[Component]:
    """Import `source` as a fresh module from `path` (registered in sys.modules, as inspect needs, for this test)."""
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"probe_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module.Probe


def test_hash_changes_exactly_when_the_source_or_schema_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    same = [_load(tmp_path / f"same{i}.py", PROBE, monkeypatch) for i in range(2)]
    assert same[0] is not same[1]
    assert same[0].content_hash() == same[1].content_hash()  # where the file lives does not matter
    body = _load(tmp_path / "body.py", PROBE.replace("return 2 * self.x", "return 3 * self.x"), monkeypatch)
    bound = _load(tmp_path / "bound.py", PROBE.replace("le=10.0", "le=11.0"), monkeypatch)
    version = _load(tmp_path / "version.py", PROBE.replace("version = 1", "version = 2"), monkeypatch)
    hashes = {c.content_hash() for c in (same[0], body, bound, version)}
    assert len(hashes) == 4
    assert body(x=2.0).double() == 6.0 and bound.bounds() == {"x": (0.0, 11.0)}


def test_minting_schedule_hash_covers_the_wrapped_schedule() -> None:
    assert MintingSchedule.depends_on == (RampedExpSchedule,)


@pytest.mark.parametrize(
    ("cls", "param", "value"),
    [
        (BondingCurve, "exponent", 11.0),
        (BondingCurve, "supply", -1.0),
        (Vesting, "duration", 0.0),
        (MintingSchedule, "m2", 1.5),
        (WeightedPool, "swap_fee", 0.2),
        (WeightedPool, "balance_a", math.inf),
        (WeightedPool, "weight_a", 0.99),
    ],
)
def test_out_of_bounds_parameters_are_refused_by_name(cls: type[Component], param: str, value: float) -> None:
    with pytest.raises(ValidationError) as err:
        cls(**{param: value})
    assert param in str(err.value)
    assert [e["loc"] for e in err.value.errors()] == [(param,)]


def test_unknown_parameters_and_cross_field_rules_are_refused() -> None:
    with pytest.raises(ValidationError, match="slop"):
        BondingCurve(slop=1.0)
    with pytest.raises(ValidationError, match="cliff"):
        Vesting(cliff=5.0, duration=4.0)
    with pytest.raises(ValidationError, match="t0 <= t1"):
        MintingSchedule(t1=2.0, t2=1.5)
    with pytest.raises(ValidationError, match="three tickers"):
        WeightedPool(token_a="OCEAN", shares="ocean")


def test_instances_are_frozen() -> None:
    c = BondingCurve()
    with pytest.raises(ValidationError, match="frozen"):
        c.slope = 2.0  # type: ignore[misc]
    assert c.slope == 1e-3


def test_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(ScenarioError) as err:
        component("bondingcurve")
    message = str(err.value)
    assert "bondingcurve" in message
    for kind in KINDS:
        assert kind in message


def test_a_component_must_declare_what_it_is() -> None:
    with pytest.raises(TypeError, match="description"):

        class _NoDescription(Component, register=False):
            """Missing a description."""

            kind = "nodesc"
            version = 1
            kpis = ("model_dump",)
            x: float = Field(1.0, ge=0, le=2)

    with pytest.raises(TypeError, match="upper bound"):

        class _Unbounded(Component, register=False):
            """Missing an upper bound."""

            kind = "unbounded"
            version = 1
            kpis = ("model_dump",)
            x: float = Field(1.0, ge=0, description="x")

    with pytest.raises(TypeError, match="kpi 'nope'"):

        class _BadKpi(Component, register=False):
            """Reports a kpi it lacks."""

            kind = "badkpi"
            version = 1
            kpis = ("nope",)

    with pytest.raises(TypeError, match="already taken"):

        class _Clash(Component):
            """Steals a kind."""

            kind = "vesting"
            version = 1
            kpis = ("model_dump",)

    assert COMPONENTS["vesting"] is Vesting


# --- the maths ---


@pytest.mark.parametrize("exponent", [0.0, 0.5, 1.0, 2.0, 3.7])
def test_bonding_mint_cost_is_the_integral_of_price(exponent: float) -> None:
    curve = BondingCurve(base=0.3, slope=0.02, exponent=exponent, supply=40.0)
    cost, after = curve.mint(25.0)
    area, _ = quad(curve.price_at, 40.0, 65.0, epsabs=0, epsrel=1e-13)
    assert cost == pytest.approx(area, rel=1e-10)
    assert after.supply == 65.0 and curve.supply == 40.0
    assert after.reserve - curve.reserve == pytest.approx(cost, rel=1e-12)
    assert after.price > curve.price or exponent == 0.0


@pytest.mark.parametrize(("supply", "amount"), [(0.0, 10.0), (1234.5, 0.001), (1e6, 3e5)])
def test_bonding_mint_then_burn_refunds_the_cost(supply: float, amount: float) -> None:
    curve = BondingCurve(base=1.0, slope=1e-4, exponent=1.5, supply=supply)
    cost, minted = curve.mint(amount)
    refund, burned = minted.burn(amount)
    assert cost > 0
    assert refund == pytest.approx(cost, rel=1e-12)
    assert burned.supply == pytest.approx(supply, abs=1e-9)


def test_bonding_linear_matches_the_bonding_plugin() -> None:
    curve = BondingCurve(base=2.0, slope=0.01, exponent=1.0, supply=100.0)
    plugin = Linear(a=2.0, b=0.01)
    assert curve.price == pytest.approx(plugin.price(100.0), rel=1e-15)
    assert curve.mint(50.0)[0] == pytest.approx(plugin.integral(100.0, 150.0), rel=1e-12)
    assert curve.reserve == pytest.approx(plugin.integral(0.0, 100.0), rel=1e-12)


def test_bonding_refuses_burning_more_than_the_supply() -> None:
    with pytest.raises(ValueError, match="burn"):
        BondingCurve(supply=1.0).burn(2.0)


def test_vesting_cliff_then_linear_then_total() -> None:
    v = Vesting(total=1200.0, start=2.0, cliff=1.0, duration=4.0, period=0.5)
    assert v.vested(0.0) == 0.0 and v.vested(2.999) == 0.0
    assert v.vested(3.0) == pytest.approx(300.0)  # the cliff releases what accrued since start
    assert v.vested(6.0) == 1200.0 and v.vested(100.0) == 1200.0
    ts = [i * 0.01 for i in range(1000)]
    values = [v.vested(t) for t in ts]
    assert all(a <= b for a, b in itertools.pairwise(values))
    unlocked = [v.unlocked(n) for n in range(20)]
    assert unlocked[0] == 0.0 and unlocked[1] == 300.0  # [2, 2.5) is before the cliff; [2.5, 3) ends at it
    assert sum(unlocked) == pytest.approx(1200.0)
    assert all(u >= 0 for u in unlocked)


def test_minting_schedule_wraps_the_agents_schedule() -> None:
    m = MintingSchedule(total=1000.0)
    ref = RampedExpSchedule(4.0, 0.5, 1.0, 1.4, 3.0, 0.10, 0.25, 0.50)
    for t in (0.0, 0.4, 0.7, 1.2, 2.0, 5.0, 40.0):
        assert m.minted_share(t) == ref(t)
        assert m.minted(t) == pytest.approx(1000.0 * ref(t))
    shares = [m.minted_share(t / 10) for t in range(0, 1500)]
    assert all(a <= b + 1e-15 for a, b in itertools.pairwise(shares))
    assert shares[-1] == pytest.approx(1.0, abs=1e-6)
    assert m.minted_between(1.0, 2.0) == pytest.approx(m.minted(2.0) - m.minted(1.0))


# Version 2 of weighted_pool is Balancer V1's BMath on tokens A and B with pool shares (`simcore.plugins.weighted`):
# its parameters are `balance_a`, `balance_b`, `weight_a` (B's is 1 - weight_a) rather than an in and an out side,
# and its trades name the token; these are version 1's checks on those names (the maths is tested in depth in
# test_weighted_pool.py).


def test_weighted_pool_equal_weights_no_fee_is_constant_product() -> None:
    pool = WeightedPool(balance_a=1000.0, balance_b=4000.0, weight_a=0.5, swap_fee=0.0)
    assert pool.spot_price == pytest.approx(4.0)  # B per A
    out, after = pool.swap("A", 100.0)
    assert out == pytest.approx(4000.0 * 100.0 / 1100.0, rel=1e-13)
    assert after.balance_a * after.balance_b == pytest.approx(1000.0 * 4000.0, rel=1e-13)
    assert after.invariant == pytest.approx(pool.invariant, rel=1e-13)
    assert pool.in_given_out("B", out) == pytest.approx(100.0, rel=1e-12)


def test_weighted_pool_fee_lowers_output_and_grows_the_invariant() -> None:
    free = WeightedPool(balance_a=500.0, balance_b=800.0, weight_a=0.8, swap_fee=0.0)
    paid = free.model_copy(update={"swap_fee": 0.01})
    assert paid.out_given_in("A", 50.0) < free.out_given_in("A", 50.0)
    _, after = paid.swap("A", 50.0)
    assert after.invariant > paid.invariant
    _, after_free = free.swap("A", 50.0)
    assert after_free.invariant == pytest.approx(free.invariant, rel=1e-13)
    assert paid.in_given_out("B", paid.out_given_in("A", 50.0)) == pytest.approx(50.0, rel=1e-12)
    # 80/20 weights: the marginal price of B in A is 4x the constant-product one
    assert 1 / free.spot_price_sans_fee == pytest.approx((500.0 / 0.8) / (800.0 / 0.2))


def test_weighted_pool_matches_the_dex_plugin_with_a_fee() -> None:
    pool = WeightedPool(balance_a=1000.0, balance_b=3000.0, swap_fee=0.003)
    dex = Dex("d", "A", "B", 1000.0, 3000.0, 0.003)
    assert pool.out_given_in("A", 75.0) == pytest.approx(-dex.sellA(75.0), rel=1e-12)
