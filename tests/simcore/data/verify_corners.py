"""A landscape with a known worst corner that is not all-extremes (a test of the corner search).

The component's `health` is 1 + 0.2 (x - 6)^2 + 0.4 sqrt|x - 6| + 8 (z - 0.2 - 0.05 y)^2 - 0.3 y, x, y in [0, 10],
z in [0, 1]: x's worst is interior (6), z's depends on y (the interaction: 0.2 + 0.05 y) and y's is its top (10), so
the worst is x = 6, y = 10, z = 0.7, where health is -2; the square root makes it no quadratic. A player adds a
random drift with a daily standard deviation of `noise` (0 unless set), the same on every corner for a given seed.
"""

import math

from pydantic import Field

from simcore.components import Component


class Landscape(Component, register=False):
    """A test landscape over three bounded parameters; its `health` KPI is a known function of them."""

    kind = "test_landscape"
    version = 1
    kpis = ("health",)

    x: float = Field(0.0, ge=0.0, le=10.0, description="Interior worst at 6.")
    y: float = Field(0.0, ge=0.0, le=10.0, description="Worst at 10; moves z's worst.")
    z: float = Field(0.0, ge=0.0, le=1.0, description="Worst at 0.2 + 0.05 y.")

    @property
    def health(self) -> float:
        """The KPI: negative is unhealthy."""
        x, y, z = self.x, self.y, self.z
        return 1 + 0.2 * (x - 6) ** 2 + 0.4 * math.sqrt(abs(x - 6)) + 8 * (z - 0.2 - 0.05 * y) ** 2 - 0.3 * y


components = {"land": Landscape()}

years = 3 / 365

vars = {
    "noise": {"name": "Daily noise", "val": 0.0},
    "score": {"name": "Health plus noise", "val": lambda g, r: g("land_health") + r["drift"]},
}


def before(v):
    return {"drift": 0.0}


def jitter(i, v, r, s, p):
    r["drift"] += p["rng"].gauss(0, v["noise"])


players = [{"key": "JITTER", "desc": "Adds normal noise.", "fn": jitter}]
