"""Two KPIs with known sensitivities (a test of Sobol' and Morris): Ishigami's function and a weighted sum.

Ishigami (a = 7, b = 0.1; x1, x2, x3 in [-pi, pi]): S1 = 0.314, 0.442, 0; ST = 0.558, 0.442, 0.244.
The weighted sum 5 a + 2 b + 0.5 c + 0 d over [0, 1]: Morris's mu* is each weight, d's 0.
"""

import math

from pydantic import Field

from simcore.components import Component

PI = math.pi


class Ishigami(Component, register=False):
    """Ishigami's test function of three parameters."""

    kind = "test_ishigami"
    version = 1
    kpis = ("value",)

    x1: float = Field(0.0, ge=-PI, le=PI, description="First input.")
    x2: float = Field(0.0, ge=-PI, le=PI, description="Second input.")
    x3: float = Field(0.0, ge=-PI, le=PI, description="Third input.")

    @property
    def value(self) -> float:
        """sin x1 + 7 sin^2 x2 + 0.1 x3^4 sin x1."""
        return math.sin(self.x1) + 7 * math.sin(self.x2) ** 2 + 0.1 * self.x3**4 * math.sin(self.x1)


class Weighted(Component, register=False):
    """A weighted sum of four parameters."""

    kind = "test_weighted"
    version = 1
    kpis = ("value",)

    a: float = Field(0.5, ge=0.0, le=1.0, description="Weight 5.")
    b: float = Field(0.5, ge=0.0, le=1.0, description="Weight 2.")
    c: float = Field(0.5, ge=0.0, le=1.0, description="Weight 0.5.")
    d: float = Field(0.5, ge=0.0, le=1.0, description="Weight 0.")

    @property
    def value(self) -> float:
        """5 a + 2 b + 0.5 c + 0 d."""
        return 5 * self.a + 2 * self.b + 0.5 * self.c + 0 * self.d


components = {"ish": Ishigami(), "lin": Weighted()}
years = 0
