"""Arenas in the sandbox: `evaluate_match` plays every seat's code in one child, scores each seat as simcore does,
rotates the turn order, and keeps a hostile seat from changing another seat's score beyond its honest trades.

The baseline for a hostile seat is the match with an honest stand-in in its seat: the same trades up to its
failure and nothing after (a failure before any trade, or a culprit, is an idle seat). The rival's per-seed metrics
must be equal, floats compared with `==`.
"""

import pytest

from sandbox import Limits, MatchEvaluation, SandboxError, SandboxPool, Status
from simcore.references import threshold_reference
from simcore.seat import idle, play_match, rotation

FAST = Limits(cpu_seconds=1, wall_seconds=3, memory_mb=128)
YEARS = 0.2
SEEDS = (1, 3)

CONTRARIAN = """
def fn(i, v, r, s, p):
    price = v['price']
    if price < 0.75 and v['wallet']['USDC'] > 1:
        p.dex.sellB(min(10, v['wallet']['USDC']))
    elif price > 0.9 and v['wallet']['AI'] > 0:
        p.dex.sellA(v['wallet']['AI'])
"""
MOMENTUM = """
def fn(i, v, r, s, p):
    if i > 2 and s[i]['price'] > s[i - 2]['price'] * 1.02 and v['wallet']['USDC'] > 5:
        p.dex.sellB(5)
    elif i > 2 and s[i]['price'] < s[i - 1]['price'] and v['wallet']['AI'] > 0:
        p.dex.sellA(v['wallet']['AI'])
"""
RANDOM = """
def fn(i, v, r, s, p):
    r['n'] = r.get('n', 0) + 1
    if p['rng'].random() < 0.2 and v['wallet']['USDC'] > 2:
        p.dex.sellB(2)
    elif p['rng'].random() < 0.2 and v['wallet']['AI'] > 0:
        p.dex.sellA(v['wallet']['AI'] / 2)
"""
IDLE = "def fn(i, v, r, s, p):\n    return None\n"


def hostile(ending):
    """Trades like CONTRARIAN, but on day 5 buys 5 $AI and does `ending` (indented code) instead."""
    return CONTRARIAN.replace(
        "    price = v['price']\n", f"    if i == 5:\n        p.dex.sellB(5)\n{ending}\n    price = v['price']\n"
    )


HONEST_PREFIX = hostile("        return None").replace(
    "    if i == 5:", "    if i > 5:\n        return None\n    if i == 5:"
)
HOSTILE = {  # name: (code, the seat's status, its honest stand-in)
    "raises": (hostile("        raise ValueError('on purpose')"), Status.RUNTIME_ERROR, HONEST_PREFIX),
    "invalid action": (
        hostile("        try:\n            p.dex.buyA(-1)\n        except Exception:\n            return None"),
        Status.INVALID_ACTION,
        HONEST_PREFIX,
    ),
    "bad output": (hostile("        return 'a lot'"), Status.OUTPUT_INVALID, HONEST_PREFIX),
    "cpu": (hostile("        while True:\n            pass"), Status.CPU_LIMIT, IDLE),
    "memory": (hostile("        r['x'] = [0] * 10 ** 9"), Status.MEMORY_LIMIT, IDLE),
    "memory hoarded": (  # fills the memory to the last byte, catching each MemoryError, and leaves none to the rival
        hostile(
            "        for size in (10 ** 6, 10 ** 5, 10 ** 4, 1000, 100, 10, 1):\n            try:\n"
            "                while True:\n                    r.setdefault('x', []).append([0] * size)\n"
            "            except Exception:\n                pass"
        ),
        Status.MEMORY_LIMIT,
        IDLE,
    ),
    "another seat's handles": ("def fn(i, v, r, s, p):\n    p['player2'].dex.buyA(1)\n", Status.RUNTIME_ERROR, IDLE),
    "its handle's insides": ("def fn(i, v, r, s, p):\n    p.dex._actions\n", Status.COMPILE_ERROR, IDLE),
    "writes the wallet": ("def fn(i, v, r, s, p):\n    v['wallet']['USDC'] = 1e9\n", Status.RUNTIME_ERROR, IDLE),
    "writes the history": ("def fn(i, v, r, s, p):\n    s[0]['price'] = 0\n", Status.RUNTIME_ERROR, IDLE),
    "writes the pool": ("def fn(i, v, r, s, p):\n    p.dex.v['la'] = 1\n", Status.RUNTIME_ERROR, IDLE),
    "replaces a handle": ("def fn(i, v, r, s, p):\n    p['dex'] = None\n", Status.RUNTIME_ERROR, IDLE),
    "marks a handle": ("def fn(i, v, r, s, p):\n    p.dex.buyA.owner = 1\n", Status.RUNTIME_ERROR, IDLE),
    "module body": ("x = 1 / 0\ndef fn(i, v, r, s, p):\n    pass\n", Status.RUNTIME_ERROR, IDLE),
    "no code": (b"def fn(i, v, r, s, p): pass", Status.REJECTED_INPUT, IDLE),
}


@pytest.fixture(scope="module")
def pool():
    with SandboxPool(workers=2) as pool:
        yield pool


def plain(code):
    """The player fn of honest `code`, as plain Python (RestrictedPython runs honest code the same way)."""
    namespace = {}
    exec(code, namespace)
    return namespace["fn"]


def outcome(match):
    """Everything of a match that must repeat bit for bit (all but the timings)."""
    seats = [(e.status, e.score, e.metrics, e.per_seed, e.error, e.line, e.stdout, e.notes) for e in match.seats]
    return seats, match.seeds, match.orders, match.culprits


@pytest.mark.parametrize(
    ("scenario", "codes"), [("arena", [CONTRARIAN, MOMENTUM]), ("arena4", [CONTRARIAN, MOMENTUM, RANDOM, IDLE])]
)
def test_each_seat_is_scored_as_simcore_plays_the_match(pool, scenario, codes):
    match = pool.evaluate_match(codes, scenario, SEEDS, YEARS, FAST)
    assert isinstance(match, MatchEvaluation) and match.seeds == SEEDS and not match.culprits
    assert match.orders == tuple(rotation(len(codes), j) for j in range(len(SEEDS)))
    assert all(seat.ok for seat in match.seats), [seat.error for seat in match.seats]
    for j, seed in enumerate(SEEDS):
        outcomes = play_match(scenario, [plain(code) for code in codes], seed, YEARS, rotation(len(codes), j))
        assert [seat.per_seed[j] for seat in match.seats] == [o.metrics for o in outcomes]
    for seat in match.seats:
        assert seat.score == seat.metrics["usdc"] == sum(m["usdc"] for m in seat.per_seed) / len(SEEDS)
    assert match.seats[2 if len(codes) == 4 else 0].notes == ({"n": 73} if len(codes) == 4 else {})
    assert match.to_dict()["seats"][0]["status"] == "ok"


@pytest.mark.parametrize(("scenario", "seats"), [("arena", 2), ("arena4", 4)])
def test_a_full_rotation_is_fair_to_the_same_code_in_every_seat(pool, scenario, seats):
    match = pool.evaluate_match([CONTRARIAN] * seats, scenario, (3,) * seats, YEARS, FAST)
    first = [m["usdc"] for m in match.seats[0].per_seed]
    assert len(set(first)) > 1  # the place in the turn order matters on this seed...
    for seat in match.seats:  # ...and every seat had every place once
        assert sorted(m["usdc"] for m in seat.per_seed) == sorted(first)


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_seat_changes_no_other_score_beyond_its_honest_trades(pool, name):
    code, status, stand_in = HOSTILE[name]
    match = pool.evaluate_match([code, CONTRARIAN], "arena", SEEDS, YEARS, FAST)
    baseline = pool.evaluate_match([stand_in, CONTRARIAN], "arena", SEEDS, YEARS, FAST)
    bad, rival = match.seats
    assert bad.status is status, bad.error
    assert bad.score is None and bad.error
    assert rival.ok and baseline.seats[1].ok
    assert rival.per_seed == baseline.seats[1].per_seed and rival.notes == baseline.seats[1].notes
    assert match.culprits == ((0,) if status in (Status.CPU_LIMIT, Status.MEMORY_LIMIT) else ())


def test_a_failing_seat_reports_its_line_and_prints(pool):
    code = "def fn(i, v, r, s, p):\n    print('day', i)\n    if i == 2:\n        return 1 / 0\n"
    bad, rival = pool.evaluate_match([code, CONTRARIAN], "arena", (1,), YEARS, FAST).seats
    assert bad.status is Status.RUNTIME_ERROR and bad.line == 4 and bad.stdout == "day 1\nday 2\n"
    assert "player 'player1' failed on day 2: ZeroDivisionError" in bad.error and rival.ok and rival.stdout == ""


def test_four_seats_with_two_culprits(pool):
    cpu, memory = HOSTILE["cpu"][0], HOSTILE["memory"][0]
    match = pool.evaluate_match([cpu, CONTRARIAN, memory, MOMENTUM], "arena4", SEEDS, YEARS, FAST)
    baseline = pool.evaluate_match([IDLE, CONTRARIAN, IDLE, MOMENTUM], "arena4", SEEDS, YEARS, FAST)
    assert [seat.status for seat in match.seats] == [Status.CPU_LIMIT, Status.OK, Status.MEMORY_LIMIT, Status.OK]
    assert match.culprits == (0, 2)
    assert [match.seats[k].per_seed for k in (1, 3)] == [baseline.seats[k].per_seed for k in (1, 3)]


@pytest.fixture(scope="module")
def two_seat_pool(tmp_path_factory):
    """A plain pool with two seats and no background players, as a scenario file."""
    path = tmp_path_factory.mktemp("scenarios") / "duel.py"
    path.write_text(
        '"""Two seats on a plain pool."""\n'
        'plugins = {"dex": {"type": "dex", "tokenA": "AI", "tokenB": "USDC", "liquidityA": 1000, "liquidityB": 1000}}\n'
        'slot = {"goal": "Most USDC.", "comp": "usdc", "wallet": {"USDC": 100, "AI": 0}, "quote": "USDC",\n'
        '        "actions": {"dex": ["buyA", "sellA"]}, "observe": {"ai_liquidity": "dex.la"}, "seats": 2}\n'
    )
    return path


def test_a_match_that_dies_only_with_both_seats_is_void(pool, two_seat_pool):
    """Each seat buys 1 $AI on day 1 and spins on day 2 only if someone else bought too: alone, neither dies."""
    code = (
        "def fn(i, v, r, s, p):\n    if i == 1:\n        p.dex.buyA(1)\n"
        "    if i == 2 and v['ai_liquidity'] < 998.5:\n        while True:\n            pass\n"
    )
    match = pool.evaluate_match([code, code], two_seat_pool, (0,), 3 / 365, FAST)
    assert [seat.status for seat in match.seats] == [Status.CRASHED, Status.CRASHED] and not match.culprits
    assert all(seat.error.startswith("void: the match ended with cpu_limit") for seat in match.seats)
    alone = pool.evaluate_match([code, IDLE], two_seat_pool, (0,), 3 / 365, FAST)
    assert [seat.status for seat in alone.seats] == [Status.OK, Status.OK]


def test_results_are_bit_identical_across_pools():
    codes = [RANDOM, HOSTILE["raises"][0], "def fn(i, v, r, s, p):\n    r['f'] = repr(fn)\n", MOMENTUM]
    runs = []
    for _ in range(2):
        with SandboxPool(workers=1) as fresh:
            runs.append([outcome(fresh.evaluate_match(codes, "arena4", SEEDS, YEARS, FAST)) for _ in range(2)])
    assert runs[0][0] == runs[0][1] == runs[1][0] == runs[1][1]
    assert runs[0][0][0][1][0] is Status.RUNTIME_ERROR


@pytest.mark.parametrize(
    ("codes", "scenario", "message"),
    [
        ([IDLE] * 3, "arena", "has 2 seats: give a list of 1 to 2 codes"),
        ([], "arena", "has 2 seats"),
        (IDLE, "arena", "has 2 seats"),
        ([IDLE, IDLE], "no_such_scenario", "unknown scenario"),
    ],
)
def test_the_callers_mistakes_raise(pool, codes, scenario, message):
    with pytest.raises(SandboxError, match=message):
        pool.evaluate_match(codes, scenario)
    with pytest.raises(SandboxError, match="seeds"):
        pool.evaluate_match([IDLE, IDLE], "arena", seeds=())


def test_seats_past_the_codes_given_play_the_house_player(pool):
    namespace: dict = {}
    exec(CONTRARIAN, namespace)  # trusted here: the test's own player
    match = pool.evaluate_match([CONTRARIAN, IDLE], "arena4", SEEDS, YEARS, FAST)
    assert len(match.seats) == 2 and all(seat.ok for seat in match.seats)
    for index, seed in enumerate(SEEDS):
        fns = [namespace["fn"], idle, threshold_reference, threshold_reference]
        outcomes = play_match("arena4", fns, seed=seed, years=YEARS, order=rotation(4, index))
        assert match.seats[0].per_seed[index] == outcomes[0].metrics


def test_alone_an_arena_candidate_plays_the_first_seat_against_the_reference(pool):
    alone = pool.evaluate(CONTRARIAN, "arena", SEEDS, YEARS, FAST)
    namespace: dict = {}
    exec(CONTRARIAN, namespace)  # trusted here: the test's own player
    rival = play_match("arena", [namespace["fn"], threshold_reference], seed=SEEDS[0], years=YEARS)[0]
    assert alone.ok and alone.per_seed[0] == rival.metrics
