"""A Gaussian random walk: after n days its end value is exactly normal, N(0, n) (a test of the tail estimate).

`end / sqrt(days) >= -3` fails with probability Phi(-3) = 1.3499e-3: a 3-sigma failure.
"""

years = 16 / 365

vars = {
    "step": {"name": "Step size", "val": 1.0},
    "end": {"name": "End value", "val": lambda g, r: r["x"]},
    "days": {"name": "Days walked", "val": lambda g, r: r["i"]},
}


def before(v):
    return {"x": 0.0}


def walk(i, v, r, s, p):
    r["x"] += p["rng"].gauss(0, v["step"])


players = [{"key": "WALK", "desc": "One normal step a day.", "fn": walk}]
