"""A total outflow: the sum of 16 daily exponential draws of mean 1, so exactly gamma(16) (a test of the transform).

Its margin is skewed (skewness -0.5): `outflow <= 30.6888` (the gamma's upper Phi(-3) quantile) fails with
probability Phi(-3) = 1.3499e-3, a 3-sigma failure, where a normal fit of the margin says 1.2e-4.
"""

years = 16 / 365

vars = {
    "mean_draw": {"name": "Mean daily outflow", "val": 1.0},
    "outflow": {"name": "Total outflow", "val": lambda g, r: r["x"]},
    "days": {"name": "Days drained", "val": lambda g, r: r["i"]},
}


def before(v):
    return {"x": 0.0}


def drain(i, v, r, s, p):
    r["x"] += p["rng"].expovariate(1 / v["mean_draw"])


players = [{"key": "DRAIN", "desc": "An exponential outflow a day.", "fn": drain}]
