"""Exact arithmetic on floats, for the ledger of an evolved player's wallet and the fairness of its trades.

Every finite float is a whole multiple of 2**-1074 (the smallest subnormal), so `units(x)` holds it exactly as
an int of that unit: sums and differences of units are exact, which float sums are not. Conservation is audited
in units, and a float shown for a balance is rounded down from them (`floor_float`), so what a player sees is
never more than it holds.
"""

from __future__ import annotations

import math

EXPONENT = 1074  # a float is units(x) * 2**-EXPONENT, exactly
MANTISSA = 53


def units(x: float) -> int:
    """`x` (a finite float or int) exactly, in units of 2**-1074."""
    numerator, denominator = x.as_integer_ratio()
    return numerator << (EXPONENT + 1 - denominator.bit_length())


def floor_float(amount: int) -> float:
    """The largest float at most `amount` units (exact when it fits a float's 53 bits)."""
    if amount < 0:
        return -ceil_float(-amount)
    shift = amount.bit_length() - MANTISSA
    if shift <= 0:
        return math.ldexp(amount, -EXPONENT)
    return math.ldexp(amount >> shift, shift - EXPONENT)


def ceil_float(amount: int) -> float:
    """The smallest float at least `amount` units."""
    below = floor_float(amount)
    return below if units(below) == amount else math.nextafter(below, math.inf)


def as_float(amount: int) -> float:
    """`amount` units as the nearest float, for messages."""
    return amount / (1 << EXPONENT)


def product_below(a: float, b: float, c: float, d: float) -> bool:
    """Whether a * b < c * d exactly, for finite non-negative floats."""
    (na, da), (nb, db) = a.as_integer_ratio(), b.as_integer_ratio()
    (nc, dc), (nd, dd) = c.as_integer_ratio(), d.as_integer_ratio()
    return na * nb * dc * dd < nc * nd * da * db


def least_cofactor(fixed: float, a: float, b: float) -> float:
    """The smallest float y with fixed * y >= a * b exactly, for finite floats, `fixed` > 0 and a, b >= 0 (and
    a * b / fixed within the float range)."""
    return ceil_float(-(-(units(a) * units(b)) // units(fixed)))


def difference_above(a: float, b: float, c: float) -> bool:
    """Whether a - b > c exactly."""
    return units(a) - units(b) > units(c)
