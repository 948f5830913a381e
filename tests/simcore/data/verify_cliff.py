"""The Gaussian random walk of verify_walk.py, knocked down by a rare event: with probability `chance` a run starts
`drop` lower (a pool drained by a hack). The margin's lower tail gets a second mode (a test of the tail check).

`end / sqrt(days) >= -3` fails with probability (1 - chance) Phi(-3) + chance Phi(drop / 4 - 3) (the walk's 16 days
give its end a standard deviation of 4): 6.34e-3 for the defaults, four fifths of it from the drain, which the body
of the margins does not show.
"""

years = 16 / 365

vars = {
    "step": {"name": "Step size", "val": 1.0},
    "chance": {"name": "Chance of a drain per run", "val": 0.01},
    "drop": {"name": "Size of a drain", "val": 12.0},
    "end": {"name": "End value", "val": lambda g, r: r["x"]},
    "days": {"name": "Days walked", "val": lambda g, r: r["i"]},
}


def before(v, p):
    return {"x": -v["drop"] if p["rng"].random() < v["chance"] else 0.0}


def walk(i, v, r, s, p):
    r["x"] += p["rng"].gauss(0, v["step"])


players = [{"key": "WALK", "desc": "One normal step a day.", "fn": walk}]
