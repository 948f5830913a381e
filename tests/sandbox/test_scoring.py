"""Scores that cannot be forged, re-rolled or carried between seeds, tried as an attacker would (issue 11).

Every case runs a real player in real sandbox children of `ai3_plugins`, whose background players are
deterministic: every seed plays the same market, and a player that does nothing ends with its 50 USDC.

"Nothing was gained" is checked in two ways: a player whose only trades are round trips inside one turn can
never end above its 50 USDC; and an attack that logs every trade that executed (numbered in the order the
trades returned) must score exactly what a plain replay of those trades, and nothing else, scores.
"""

import ast
from pathlib import Path

import pytest
from readers import GC_TOOLS, READERS

from sandbox import Limits, SandboxPool, Status

SCENARIO = "ai3_plugins"
START = 50.0  # the slot's USDC at the start: doing nothing scores exactly this
FAST = Limits(cpu_seconds=1, wall_seconds=4, memory_mb=256)
DEEP = Limits(cpu_seconds=4, wall_seconds=8, memory_mb=256)
TIGHT_MEMORY = Limits(cpu_seconds=4, wall_seconds=8, memory_mb=48)
WALLET = ("usdc", "ai", "value", "actions")

# Player-side trade log: each executed trade as "order day name amount result", the day being the one in whose
# turn it executed. `order` is taken before any container is made after the action returns, so no finaliser can
# slip its own trade in between.
TRADE_LOG = """
order = [0]
busy = [False]
today = [0]


def trade(r, name, action, amount):
    busy[0] = True
    try:
        got = action(amount)
    finally:
        busy[0] = False
    n = order[0]
    order[0] = n + 1
    if got:
        r['log'].append('%d %d %s %r %r' % (n, today[0], name, amount, got))
    return got
"""

REPLAY = """
PLAN = {plan!r}


def fn(i, v, r, s, p):
    dex = p['dex']
    actions = {{'buyA': dex.buyA, 'sellA': dex.sellA, 'buyB': dex.buyB, 'sellB': dex.sellB}}
    for name, amount, expected in PLAN.get(i, ()):
        got = actions[name](amount)
        if not got or (expected is not None and got != expected):
            message = 'day %d: %s(%r) gave %r in the replay, %r in the attack'
            raise ValueError(message % (i, name, amount, got, expected))
"""


@pytest.fixture(scope="module")
def pool():
    with SandboxPool(workers=2) as pool:
        yield pool


@pytest.fixture(scope="module")
def fee_scenario(tmp_path_factory):
    """`ai3_plugins` with a 0.3 % fee on its pool, as a scenario file: the dex quotes a fee'd trade differently."""
    source = (Path(__file__).resolve().parents[2] / "simcore" / "scenarios" / "ai3_plugins.py").read_text()
    with_fee = source.replace('"liquidityB": 50}', '"liquidityB": 50, "fee": 0.003}')
    assert with_fee != source
    path = tmp_path_factory.mktemp("scenarios") / "ai3_plugins_with_a_fee.py"
    path.write_text(with_fee)
    return path


def run(pool, code, seeds=(0,), years=1, limits=FAST, scenario=SCENARIO):
    return pool.evaluate(code, scenario, seeds=seeds, years=years, limits=limits)


def outcome(evaluation):
    """Everything of an evaluation that must repeat bit for bit (all but the timings)."""
    e = evaluation
    return (e.status, e.score, e.metrics, e.per_seed, e.error, e.line, e.stdout, e.notes)


def replay_of(log):
    """A plain player that makes exactly the logged trades, in the order they executed, and nothing else."""
    plan = {}
    for entry in sorted(log, key=lambda entry: int(entry.split()[0])):
        _, day, name, amount, result = entry.split()
        plan.setdefault(int(day), []).append((name, ast.literal_eval(amount), ast.literal_eval(result)))
    return REPLAY.format(plan=plan)


def assert_explained_by_its_trades(pool, attack, years, limits=FAST):
    """The attack's wallet is exactly what a replay of its executed trades gives: nothing came from elsewhere."""
    assert attack.ok, (attack.status, attack.error)
    assert attack.notes["log"], "the attack made no trade, so it shows nothing"
    replayed = run(pool, replay_of(attack.notes["log"]), years=years, limits=limits)
    assert replayed.ok, (replayed.status, replayed.error)
    assert {name: attack.metrics[name] for name in WALLET} == {name: replayed.metrics[name] for name in WALLET}


# --- finalisers: re-entry, and trading after fn returned ----------------------------------------------------

COLLECTED_AROUND_A_TRADE = (
    GC_TOOLS
    + TRADE_LOG
    + """
hold = []
Q = 2.0 ** -6


def trader(r, v, dex):
    try:
        yield 1
    finally:
        r['ran'] = r['ran'] + 1
        if busy[0]:
            r['inside'] = r['inside'] + 1
        trade(r, 'buyA', dex.buyA, Q)
        if v['wallet']['AI'] > 0:
            trade(r, 'sellA', dex.sellA, v['wallet']['AI'])


def fn(i, v, r, s, p):
    dex = p['dex']
    today[0] = i
    if i == 1:
        r['log'] = []
        r['ran'] = 0
        r['inside'] = 0
    del hold[:]
    sync(hold)
    for k in range(700 - i % 80):
        hold.append([])
    ran = r['ran']
    plant(lambda: trader(r, v, dex))
    trade(r, 'buyA', dex.buyA, Q)
    if v['wallet']['AI'] > 0:
        trade(r, 'sellA', dex.sellA, v['wallet']['AI'])
    while r['ran'] == ran:
        hold.append([])
"""
)


def test_finalisers_collected_right_around_a_trade_never_run_inside_it_and_gain_nothing(pool):
    """Each day the collector is brought a few allocations closer to running, so that over the days it comes due
    before, inside and after the trade; whatever it finalises then trades only in turn, never inside an action."""
    years = 0.25
    attack = run(pool, COLLECTED_AROUND_A_TRADE, years=years)
    assert attack.ok, (attack.status, attack.error)
    assert attack.notes["ran"] == 92, "every day's finaliser ran in the player's turn"
    assert attack.notes["inside"] == 0, "a finaliser ran while one of the player's actions was in progress"
    assert attack.score <= START
    assert_explained_by_its_trades(pool, attack, years)


ACTS_AFTER_RETURN = (
    GC_TOOLS
    + """
hold = []


def trader(dex):
    try:
        yield 1
    finally:
        ACTION


def fn(i, v, r, s, p):
    dex = p['dex']
    del hold[:]
    sync(hold)
    for k in range(700 - i % 100):
        hold.append([])
    plant(lambda: trader(dex))
"""
)

LEFT_FOR_THE_NEXT_SEED = """
def trader(dex):
    try:
        yield 1
    finally:
        ACTION

kept = []


def fn(i, v, r, s, p):
    if i == 1:
        g = trader(p['dex'])
        for x in g:
            break
        kept.append(g)
        junk = [[k] for k in range(100000)]
"""

TRADE = "dex.buyA(1)"
SWALLOWED_TRADE = "try:\n            dex.buyA(1)\n        except Exception:\n            pass"


@pytest.mark.parametrize(
    ("code", "seeds"),
    [
        (ACTS_AFTER_RETURN.replace("ACTION", TRADE), (0,)),
        (ACTS_AFTER_RETURN.replace("ACTION", SWALLOWED_TRADE), (0,)),
        (LEFT_FOR_THE_NEXT_SEED.replace("ACTION", TRADE), (0, 1)),
        (LEFT_FOR_THE_NEXT_SEED.replace("ACTION", SWALLOWED_TRADE), (0, 1)),
    ],
    ids=[
        "finaliser-after-fn-returned",
        "finaliser-after-fn-returned-swallowed",
        "seed-0-generator-collected-in-seed-1",
        "seed-0-generator-collected-in-seed-1-swallowed",
    ],
)
def test_a_finaliser_that_trades_outside_the_turn_ends_the_evaluation(pool, code, seeds):
    evaluation = run(pool, code, seeds=seeds, years=0.5)
    assert evaluation.status is Status.INVALID_ACTION, (evaluation.status, evaluation.error)
    assert "outside the player's turn" in evaluation.error


# --- swallowed invalid actions -------------------------------------------------------------------------------


def swallowing(invalid, then="    if v['price'] < 0.9:\n        p['dex'].buyA(5)\n"):
    """A player that makes `invalid` every day inside a try, catches what it raises, then goes on with `then`."""
    return (
        "def fn(i, v, r, s, p):\n"
        "    dex = p['dex']\n"
        "    try:\n"
        f"        {invalid}\n"
        "    except Exception:\n"
        "        pass\n"
        "    later = 0\n"
        "    for k in range(3):\n"
        "        try:\n"
        "            dex.buyA(0.5)\n"
        "        except Exception:\n"
        "            later = later + 1\n"
        "    print('later actions that raised: %d' % later)\n" + then
    )


IN_TURN_FINALISER_SWALLOWS = (
    GC_TOOLS
    + """
hold = []


def bad(dex):
    try:
        yield 1
    finally:
        try:
            dex.buyA(-1.0)
        except Exception:
            pass


def fn(i, v, r, s, p):
    plant(lambda: bad(p['dex']))
    sync(hold)
    if v['price'] < 0.9:
        p['dex'].buyA(5)
"""
)


@pytest.mark.parametrize(
    ("code", "first"),
    [
        (swallowing("dex.buyA(-1)"), "buyA(-1)"),
        (swallowing("dex.sellB(True)"), "sellB(True)"),
        (swallowing("dex.buyA(float('nan'))"), "buyA(nan)"),
        (swallowing("dex.buyA(10 ** 10)"), "buyA(10000000000)"),
        (swallowing("for k in range(11):\n            dex.buyA(2.0 ** -10)"), "at most 10 actions a day"),
        (swallowing("sorted([3, -1, 2], key=dex.sellA)"), "sellA(-1)"),
        (swallowing("dex.buyA(-1)", then="    return 'nothing to see'\n"), "buyA(-1)"),
        (swallowing("dex.buyA(-1)", then="    return 1 / 0\n"), "buyA(-1)"),
        (IN_TURN_FINALISER_SWALLOWS, "buyA(-1.0)"),
    ],
    ids=[
        "bad-amount",
        "bool-amount",
        "nan-amount",
        "over-max-amount",
        "over-the-daily-cap",
        "inside-sorted-key",
        "then-a-bad-return-value",
        "then-an-error-of-its-own",
        "inside-an-in-turn-finaliser",
    ],
)
def test_an_invalid_action_ends_the_evaluation_even_when_the_player_catches_it(pool, code, first):
    evaluation = run(pool, code)
    assert evaluation.status is Status.INVALID_ACTION, (evaluation.status, evaluation.error)
    assert first in evaluation.error, "the error names the first invalid action"
    if "later actions" in code:
        assert "later actions that raised: 3" in evaluation.stdout, "every action after an invalid one raises"


# --- the edges of the interpreter's resources: a trade cut short changes nothing --------------------------

AT_THE_MEMORY_LIMIT = """
def fn(i, v, r, s, p):
    dex = p['dex']
    if i == 1:
        r['log'] = []
    for k in range(4):
        if k % 2 == 0:
            name, action, amount = 'buyA', dex.buyA, 2.0 ** -4 * (k + 1)
        elif v['wallet']['AI'] > 0:
            name, action, amount = 'sellA', dex.sellA, v['wallet']['AI']
        else:
            continue
        before = v['wallet']['AI']
        freed = (i * 4 + k) % 7
        ballast = []
        size = 2 ** 23
        while size >= 256:
            try:
                ballast.append(' ' * size)
            except Exception:
                size = size // 2
        chain = None
        try:
            while True:
                chain = (chain, 2 ** 1100 + i, 0.5 + i)
        except Exception:
            pass
        while freed:
            chain = chain[0]
            freed = freed - 1
        try:
            action(amount)
        except Exception:
            pass
        chain = None
        ballast = None
        if v['wallet']['AI'] != before:
            r['log'].append('%d %d %s %r None' % (len(r['log']), i, name, amount))
        else:
            r['cut'] = r.get('cut', 0) + 1
"""

AT_THE_RECURSION_LIMIT = """
def deep(n, f, amount):
    if n:
        return deep(n - 1, f, amount)
    return f(amount)


def deepest():
    low, high = 0, 10000
    while high - low > 1:
        middle = (low + high) // 2
        try:
            deep(middle, abs, -1)
            low = middle
        except Exception:
            high = middle
    return low


def fn(i, v, r, s, p):
    dex = p['dex']
    if i == 1:
        r['log'] = []
    n = deepest() - i % 25
    before = v['wallet']['AI']
    try:
        deep(n, dex.buyA, 2.0 ** -8)
    except Exception:
        pass
    if v['wallet']['AI'] != before:
        r['log'].append('%d %d buyA %r None' % (len(r['log']), i, 2.0 ** -8))
    else:
        r['cut'] = r.get('cut', 0) + 1
    if v['wallet']['AI'] > 0:
        amount = v['wallet']['AI']
        got = dex.sellA(amount)
        r['log'].append('%d %d sellA %r %r' % (len(r['log']), i, amount, got))
"""


@pytest.mark.parametrize(
    ("code", "years", "limits"),
    [(AT_THE_MEMORY_LIMIT, 0.03, TIGHT_MEMORY), (AT_THE_RECURSION_LIMIT, 0.1, FAST)],
    ids=["memory-limit", "recursion-limit"],
)
def test_a_trade_cut_short_by_the_memory_or_recursion_limit_ends_the_run(pool, code, years, limits):
    """An action stopped part-way may be half done: it ends the run, however the player catches the error."""
    attack = run(pool, code, years=years, limits=limits)
    assert attack.status in {Status.MEMORY_LIMIT, Status.RUNTIME_ERROR}, (attack.status, attack.error)
    assert "MemoryError" in attack.error or "RecursionError" in attack.error or "memory" in attack.error


# --- re-rolls: the same code scores the same, every time, in every pool ---------------------------------------

REROLLS = {
    **{name: (code, Status.OK) for name, code in READERS.items()},
    "rng-seed-without-a-value": ("def fn(i, v, r, s, p):\n    p['rng'].seed()\n", Status.RUNTIME_ERROR),
    "rng-seed-none": ("def fn(i, v, r, s, p):\n    p['rng'].seed(None)\n", Status.RUNTIME_ERROR),
    "rng-seed-keyword-none": ("def fn(i, v, r, s, p):\n    p['rng'].seed(a=None, version=2)\n", Status.RUNTIME_ERROR),
    "rng-seed-caught": (
        """
def fn(i, v, r, s, p):
    try:
        p['rng'].seed()
    except Exception:
        pass
    if p['rng'].random() < 0.2 and v['price'] < 0.95:
        p['dex'].buyA(p['rng'].uniform(0.5, 3))
    elif v['wallet']['AI'] > 0 and p['rng'].random() < 0.2:
        p['dex'].sellA(v['wallet']['AI'])
""",
        Status.OK,
    ),
    "rng-seeded-from-an-address": (
        """
def fn(i, v, r, s, p):
    if i == 1:
        p['rng'].seed(repr(fn) + repr(lambda: 0))
    if p['rng'].random() < 0.3 and v['price'] < 0.95:
        p['dex'].buyA(1)
""",
        Status.OK,
    ),
}
REROLL_YEARS = 0.25


def evaluate_rerolls(pool):
    codes = [(code, SCENARIO) for code, _ in REROLLS.values()]
    evaluations = pool.evaluate_many(codes, seeds=(0, 1), years=REROLL_YEARS, limits=FAST)
    return dict(zip(REROLLS, map(outcome, evaluations), strict=True))


@pytest.fixture(scope="module")
def rerolled(pool):
    """Each re-roll player evaluated three times in the module's pool, then once in each of two fresh pools."""
    runs = [evaluate_rerolls(pool) for _ in range(3)]
    for _ in range(2):
        with SandboxPool(workers=2) as fresh:
            runs.append(evaluate_rerolls(fresh))
    return runs


@pytest.mark.parametrize("name", REROLLS)
def test_a_reroll_attempt_scores_the_same_every_time_and_in_every_fresh_pool(rerolled, name):
    first, *others = (results[name] for results in rerolled)
    assert first[0] is REROLLS[name][1], first[4]
    for index, other in enumerate(others, start=1):
        assert other == first, f"evaluation {index} differs from the first"


# --- seed-to-seed leaks ---------------------------------------------------------------------------------------

TRADES = """
    if v['price'] < 0.9:
        p['dex'].buyA(2)
    elif v['price'] > 1.0 and v['wallet']['AI'] > 0:
        p['dex'].sellA(v['wallet']['AI'])
"""
LEAKS = {
    "mutable-default": "def fn(i, v, r, s, p, days=[]):\n    days.append(i)\n    if len(days) > i:\n"
    "        p['dex'].buyA(3)\n" + TRADES,
    "closure": "def make():\n    days = []\n\n    def fn(i, v, r, s, p):\n        days.append(i)\n"
    "        if len(days) > i:\n            p['dex'].buyA(3)\n" + TRADES.replace("\n    ", "\n        ") + "\n"
    "    return fn\n\n\nfn = make()\n",
    "module-global": "days = {'n': 0}\n\n\ndef fn(i, v, r, s, p):\n    days['n'] = days['n'] + 1\n"
    "    if days['n'] > i:\n        p['dex'].buyA(3)\n" + TRADES,
    "printed": "def fn(i, v, r, s, p):\n    if ('day %d;' % i) in printed:\n        p['dex'].buyA(3)\n"
    "    print('day %d;' % i)\n" + TRADES,
    "handle-in-a-default": "def fn(i, v, r, s, p, kept=[]):\n    if not kept:\n        kept.append(p['dex'])\n"
    "    elif kept[0] is not p['dex']:\n        kept[0].buyA(3)\n" + TRADES,
    "rng-in-a-global": "kept = []\n\n\ndef fn(i, v, r, s, p):\n    if not kept:\n        kept.append(p['rng'])\n"
    "    if kept[0] is not p['rng']:\n        p['dex'].buyA(3)\n" + TRADES,
    "view-in-a-global": "kept = []\n\n\ndef fn(i, v, r, s, p):\n    kept.append(v)\n    if kept[0] is not v:\n"
    "        p['dex'].buyA(3)\n" + TRADES,
    "generator-state": "def counter():\n    n = 0\n    while True:\n        n = n + 1\n        yield n\n\n\n"
    "days = counter()\n\n\ndef fn(i, v, r, s, p):\n    for n in days:\n        break\n    if n > i:\n"
    "        p['dex'].buyA(3)\n" + TRADES,
}


@pytest.mark.parametrize("name", LEAKS)
def test_nothing_the_player_keeps_carries_from_one_seed_to_the_next(pool, name):
    both = run(pool, LEAKS[name], seeds=(0, 1), years=0.25)
    alone = run(pool, LEAKS[name], seeds=(1,), years=0.25)
    assert both.ok and alone.ok, (both.status, both.error, alone.status, alone.error)
    assert both.per_seed[0]["actions"] > 0, "the player trades, so a leak would show in its metrics"
    assert both.per_seed[1] == alone.per_seed[0], "seed 1 after seed 0 plays as seed 1 alone"
    assert both.per_seed[0] == both.per_seed[1], "the market and the player are the same on every seed"


def test_printed_shows_only_this_seeds_prints(pool):
    code = "def fn(i, v, r, s, p):\n    if i == 2:\n        r['before'] = printed.count('day')\n    print('day')\n"
    evaluation = run(pool, code, seeds=(0, 1), years=0.05)
    assert evaluation.ok and evaluation.notes == {"before": 1}
    assert evaluation.stdout.count("day") == 2 * 19


# --- tiny trades: nothing for nothing -------------------------------------------------------------------------

FARMING = """
import math


def fn(i, v, r, s, p):
    dex = p['dex']
    if i == 1:
        dex.buyA(1)
        r['usdc'] = v['wallet']['USDC']
        r['ai'] = v['wallet']['AI']
        return
    la, lb = v['ai_liquidity'], v['usdc_liquidity']
    for k in range(10):
        dex.ACTION(AMOUNT)
"""
HALF_ULP = "2.0 ** (math.frexp({})[1] - 54)"


@pytest.mark.parametrize(
    ("action", "amount"),
    [
        ("buyA", "1e-18"),
        ("buyB", "1e-20"),
        ("sellA", "1e-300"),
        ("sellB", "5e-324"),
        ("buyA", "la * 2.0 ** -54"),
        ("sellA", HALF_ULP.format("la")),
        ("buyB", HALF_ULP.format("lb")),
        ("sellB", "lb * 2.0 ** -54"),
    ],
)
@pytest.mark.parametrize("fee", [False, True], ids=["no-fee", "fee"])
def test_tiny_trades_are_refused_and_farm_nothing(pool, fee_scenario, fee, action, amount):
    code = FARMING.replace("ACTION", action).replace("AMOUNT", amount)
    evaluation = run(pool, code, scenario=fee_scenario if fee else SCENARIO)
    assert evaluation.ok, (evaluation.status, evaluation.error)
    metrics = evaluation.metrics
    assert metrics["usdc"] == evaluation.notes["usdc"] and metrics["ai"] == evaluation.notes["ai"]
    assert metrics["refused"] == 10 * 364 and metrics["actions"] == 1
    assert evaluation.score <= START


CHURNERS = {
    "odd-amounts": """
def fn(i, v, r, s, p):
    dex, rng = p['dex'], p['rng']
    for k in range(5):
        amount = rng.random() * 10.0 ** -rng.randint(0, 16)
        if k == 4:
            dex.sellB(amount)
        else:
            dex.buyA(amount)
        if v['wallet']['AI'] > 0:
            dex.sellA(v['wallet']['AI'])
""",
    "a-few-ulps": """
def fn(i, v, r, s, p):
    dex = p['dex']
    for k in range(5):
        if k % 2:
            dex.sellB(v['usdc_liquidity'] * 2.0 ** -52 * (k + 0.7))
        else:
            dex.buyA(v['ai_liquidity'] * 2.0 ** -52 * (k + 1))
        if v['wallet']['AI'] > 0:
            dex.sellA(v['wallet']['AI'])
""",
}


@pytest.mark.parametrize("name", CHURNERS)
@pytest.mark.parametrize("fee", [False, True], ids=["no-fee", "fee"])
def test_churning_tiny_or_odd_round_trips_never_ends_above_the_start(pool, fee_scenario, fee, name):
    evaluation = run(pool, CHURNERS[name], seeds=(0, 1, 2), scenario=fee_scenario if fee else SCENARIO)
    assert evaluation.ok, (evaluation.status, evaluation.error)
    assert all(metrics["actions"] > 1000 for metrics in evaluation.per_seed)
    assert all(metrics["usdc"] <= START for metrics in evaluation.per_seed)


# --- honest Unicode works, NFKC spellings of forbidden names do not -----------------------------------------

HONEST_UNICODE = """
précio = 0.9


def fn(i, v, r, s, p):
    letra = "\\N{GREEK SMALL LETTER ALPHA}"
    données = [
        'é'.encode('utf-16'), 'ü'.encode('utf-32'), 'ñ'.encode('latin-1'), '€'.encode('cp1252'),
        'ß'.encode('utf-8'), 'a'.encode('ascii'),
    ]
    r['bytes'] = sum(len(b) for b in données)
    r['text'] = letra + 'straße'.upper()
    if v['price'] < précio:
        p.\uff44\uff45\uff58.buyA(5)
"""


def test_honest_unicode_code_evaluates(pool):
    evaluation = run(pool, HONEST_UNICODE)
    assert evaluation.ok, (evaluation.status, evaluation.error)
    assert evaluation.notes == {"bytes": 17, "text": "\N{GREEK SMALL LETTER ALPHA}STRASSE"}
    assert evaluation.metrics["actions"] > 0


@pytest.mark.parametrize(
    "codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-8-sig", "utf-7", "cp437", "cp850", "mac_roman", "iso8859-15"]
)
def test_the_common_codecs_work_in_a_child_that_cannot_read_the_standard_library(pool, codec):
    code = f"def fn(i, v, r, s, p):\n    r['n'] = len('é€'.encode({codec!r}, 'replace').decode({codec!r}))\n"
    evaluation = run(pool, code, years=1 / 365)
    assert evaluation.ok and evaluation.notes == {"n": 2}, (evaluation.status, evaluation.error)


def test_an_uncommon_codec_is_a_clean_runtime_error(pool):
    evaluation = run(pool, "def fn(i, v, r, s, p):\n    'x'.encode('shift_jis')\n", years=1 / 365)
    assert evaluation.status is Status.RUNTIME_ERROR and "LookupError" in evaluation.error


def fullwidth(name):
    return "".join(chr(ord(letter) + 0xFEE0) for letter in name)


@pytest.mark.parametrize(
    "code",
    [
        f"def fn(i, v, r, s, p):\n    {fullwidth('eval')}('1')\n",
        f"def fn(i, v, r, s, p):\n    {fullwidth('exec')}('x = 1')\n",
        f"def fn(i, v, r, s, p):\n    r['x'] = str(p.{fullwidth('__class__')})\n",
        f"def fn(i, v, r, s, p):\n    r['x'] = str({fullwidth('getattr')}(p['dex'], '_actions'))\n",
        f"def fn(i, v, r, s, p):\n    r['x'] = str({fullwidth('type')}(p['dex']))\n",
        f"def fn(i, v, r, s, p):\n    r['x'] = {fullwidth('id')}(p)\n",
        f"def fn(i, v, r, s, p):\n    r['x'] = {fullwidth('hash')}('a')\n",
        f"def fn(i, v, r, s, p):\n    r['x'] = {fullwidth('next')}({fullwidth('iter')}([1]))\n",
        f"def fn(i, v, r, s, p):\n    r['x'] = len({fullwidth('globals')}())\n",
        f"import {fullwidth('os')}\n\n\ndef fn(i, v, r, s, p):\n    pass\n",
        f"import math\n\n\ndef fn(i, v, r, s, p):\n    r['x'] = math.{fullwidth('factorial')}(5)\n",
        "def fn(i, v, r, s, p):\n    r['x'] = \u1d49\u1d5b\u1d43\u02e1('1')\n",  # superscript letters: eval
    ],
    ids=[
        "eval",
        "exec",
        "dunder-class",
        "getattr",
        "type",
        "id",
        "hash",
        "iter-next",
        "globals",
        "import-os",
        "math-factorial",
        "superscript-eval",
    ],
)
def test_nfkc_spellings_of_forbidden_names_stay_refused(pool, code):
    evaluation = run(pool, code)
    assert evaluation.status in {Status.COMPILE_ERROR, Status.RUNTIME_ERROR}, (evaluation.status, evaluation.error)
    assert evaluation.error


# --- deep structures end as a clean status --------------------------------------------------------------------

DEEP_CASES = {
    "tuple-in-a-set": "t = ()\n    for k in range(10 ** 6):\n        t = (t,)\n    x = {t}",
    "tuple-as-a-dict-key": "t = ()\n    for k in range(10 ** 6):\n        t = (t,)\n    d = {}\n    d[t] = 1",
    "map-chain": "m = [1]\n    for k in range(10 ** 6):\n        m = map(abs, m)\n    for x in m:\n        pass",
    "zip-chain": "m = [1]\n    for k in range(10 ** 6):\n        m = zip(m)\n    x = list(m)",
    "filter-chain": "m = [1]\n    for k in range(10 ** 6):\n        m = filter(None, m)\n    x = sum(m)",
    "enumerate-chain": "m = [1]\n    for k in range(10 ** 6):\n        m = enumerate(m)\n    x = max(m)",
    "generator-chain": "g = [1]\n    for k in range(10 ** 5):\n        g = (x for x in g)\n    x = sum(g)",
    "repr-of-a-deep-list": "a = []\n    for k in range(10 ** 6):\n        a = [a]\n    x = repr(a)",
    "comparing-deep-tuples": "a = ()\n    b = ()\n    for k in range(10 ** 6):\n        a = (a,)\n        b = (b,)\n"
    "    x = a < b",
}


@pytest.fixture(scope="module")
def deep_results(pool):
    codes = [(f"def fn(i, v, r, s, p):\n    {body}\n", SCENARIO) for body in DEEP_CASES.values()]
    evaluations = pool.evaluate_many(codes, years=0.01, limits=DEEP)
    return dict(zip(DEEP_CASES, evaluations, strict=True))


@pytest.mark.parametrize("name", DEEP_CASES)
def test_a_deep_structure_ends_as_a_clean_status_not_a_crash(deep_results, name):
    evaluation = deep_results[name]
    assert evaluation.status in {Status.RUNTIME_ERROR, Status.MEMORY_LIMIT}, (evaluation.status, evaluation.error)
    assert evaluation.error


def test_a_stack_overflow_names_the_players_line(deep_results):
    evaluation = deep_results["tuple-in-a-set"]
    assert "segmentation fault" in evaluation.error and evaluation.line == 5
