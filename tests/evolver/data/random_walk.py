"""A random walk: ten days of normal steps, with a spec on where it ends (a margin with a normal tail).

A tiny scenario for the verification tests: a run takes well under a millisecond, so a tail estimate's runs are
cheap, and the walk's end is normal, so its tail fit is quick and well behaved.
"""

vars = {
    "__title__": "Random Walk",
    "step": {"name": "Step Size", "val": 1.0},
    "x": {"name": "Where the Walk Ends", "val": lambda g, r: r["x"]},
}

years = 10 / 365

criteria = [{"name": "Ends above -6", "spec": "x >= -6"}]


def before(v):
    return {"x": 0.0}


def walk(i, v, r, s, p):
    r["x"] += p["rng"].gauss(0, v["step"])


players = [{"key": "WALKER", "desc": "Takes a normal step of `step` a day.", "fn": walk}]
