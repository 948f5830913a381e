"""Bit-identical results: the same code, scenario, seeds and years give the same evaluation in any pool (issue 11).

Twenty candidates of different shapes, honest ones and ones that fail, including players that read what a
process could make differ (object addresses, set orders, the collector's timing, the memory and stack left),
are evaluated in three freshly started pools: everything but the timings must be equal, floats compared with
`==`. A warm parent's history must not matter either.
"""

import tempfile

import pytest
from readers import GC_TOOLS, READERS

from sandbox import Limits, SandboxPool, Status

SCENARIO = "ai3_plugins"
SEEDS = (0, 1)
YEARS = 0.5
LIMITS = Limits(cpu_seconds=2, wall_seconds=6, memory_mb=128)

SENSITIVE = ("repr-addresses", "function-set-order", "collector-timing", "nan-set-order", "memory-probe")
"""Candidates whose behaviour depends on what a process could make differ: the warm parent's history must not."""

CANDIDATES = {
    **{name: (READERS[name], Status.OK) for name in SENSITIVE},
    "threshold": (
        """
def fn(i, v, r, s, p):
    if v['price'] < 0.9:
        p['dex'].buyA(5)
    elif v['price'] > 1.0 and v['wallet']['AI'] > 0:
        p['dex'].sellA(min(5, v['wallet']['AI']))
""",
        Status.OK,
    ),
    "moving-averages": (
        """
def fn(i, v, r, s, p):
    prices = [row['price'] for row in s]
    fast = sum(prices[-3:]) / len(prices[-3:])
    slow = sum(prices[-15:]) / len(prices[-15:])
    if fast > slow * 1.01 and v['wallet']['USDC'] > 5:
        p['dex'].sellB(v['wallet']['USDC'] / 4)
    elif fast < slow * 0.99 and v['wallet']['AI'] > 0:
        p['dex'].sellA(v['wallet']['AI'] / 2)
""",
        Status.OK,
    ),
    "log-returns": (
        """
import math


def fn(i, v, r, s, p):
    if i < 3:
        return
    change = math.log(s[i]['price'] / s[i - 2]['price'])
    size = math.exp(-abs(change) * 10) * 2
    if change < -0.01:
        p['dex'].buyA(size)
    elif change > 0.01 and v['wallet']['AI'] >= size:
        p['dex'].sellA(size)
""",
        Status.OK,
    ),
    "rng-uniform": (
        """
def fn(i, v, r, s, p):
    rng = p['rng']
    if rng.random() < 0.3 and v['wallet']['USDC'] > 1:
        p['dex'].buyA(rng.uniform(0.1, 2.0))
    elif rng.random() < 0.3 and v['wallet']['AI'] > 0:
        p['dex'].sellA(v['wallet']['AI'] * rng.uniform(0.1, 1.0))
""",
        Status.OK,
    ),
    "rng-reseeded-daily": (
        """
def fn(i, v, r, s, p):
    rng = p['rng']
    rng.seed(i * 7919)
    signal = rng.gauss(0, 1)
    if signal > 1 and v['price'] < 1:
        p['dex'].buyA(abs(signal))
    elif signal < -1 and v['wallet']['AI'] > 0:
        p['dex'].sellA(v['wallet']['AI'])
""",
        Status.OK,
    ),
    "generator-state-machine": (
        """
def plans(rng):
    while True:
        for step in ('watch', 'buy', 'watch', 'sell'):
            rng.seed('%s-%d' % (step, rng.randint(0, 9)))
            yield step


machine = []


def fn(i, v, r, s, p):
    if not machine:
        machine.append(plans(p['rng']))
    for step in machine[0]:
        break
    if step == 'buy' and v['price'] < 1:
        p['dex'].buyA(p['rng'].choice([0.5, 1, 2]))
    elif step == 'sell' and v['wallet']['AI'] > 0:
        p['dex'].sellA(v['wallet']['AI'])
""",
        Status.OK,
    ),
    "dict-heavy": (
        """
def fn(i, v, r, s, p):
    book = r.setdefault('book', {})
    book[str(i)] = v['price']
    if len(book) > 30:
        del book[min(book, key=lambda day: int(day))]
    ranked = sorted(book.items(), key=lambda item: (item[1], item[0]))
    if str(i) in dict(ranked[:5]):
        p['dex'].buyA(1)
    elif str(i) in dict(ranked[-5:]) and v['wallet']['AI'] >= 1:
        p['dex'].sellA(1)
""",
        Status.OK,
    ),
    "string-set-order": (
        """
def fn(i, v, r, s, p):
    tags = set()
    for row in s:
        tags.add('%.2f' % row['price'])
    first = list(tags)[0]
    r['first'] = first
    if float(first) < v['price'] and v['wallet']['AI'] > 0.5:
        p['dex'].sellA(0.5)
    elif float(first) > v['price']:
        p['dex'].buyA(0.5)
""",
        Status.OK,
    ),
    "prints": (
        """
def fn(i, v, r, s, p):
    if i % 20 == 0:
        print('day', i, 'price %.6f' % v['price'], dict(v['wallet']))
    if v['price'] < 0.85:
        p['dex'].buyA(3)
""",
        Status.OK,
    ),
    "fails-with-an-error": (
        """
def fn(i, v, r, s, p):
    if v['price'] < 0.9:
        p['dex'].buyA(2)
    return 1 / (i - 40)
""",
        Status.RUNTIME_ERROR,
    ),
    "invalid-action": (
        """
def fn(i, v, r, s, p):
    for k in range(11 if i == 30 else 1):
        p['dex'].buyA(0.1)
""",
        Status.INVALID_ACTION,
    ),
    "bad-return-value": (
        """
def fn(i, v, r, s, p):
    if v['price'] < 0.9:
        p['dex'].buyA(1)
    return float('nan') if i == 10 else v['price']
""",
        Status.OUTPUT_INVALID,
    ),
    "finaliser-trader": (
        GC_TOOLS
        + """
def trader(v, dex):
    try:
        yield 1
    finally:
        if v['price'] < 0.95:
            dex.buyA(0.25)


hold = []


def fn(i, v, r, s, p):
    del hold[:]
    flag = []
    plant(lambda: trader(v, p['dex']))
    plant(lambda: sentinel(flag))
    while not flag:
        hold.append([])
""",
        Status.OK,
    ),
    "recursion-probe": (
        """
def deep(n):
    return deep(n - 1) if n else 0


def fn(i, v, r, s, p):
    if i == 1:
        low, high = 0, 10000
        while high - low > 1:
            middle = (low + high) // 2
            try:
                deep(middle)
                low = middle
            except Exception:
                high = middle
        r['depth'] = low
    if r['depth'] % 7 < 5 and v['price'] < 0.95:
        p['dex'].buyA(1)
""",
        Status.OK,
    ),
    "unicode-and-notes": (
        """
précio = 0.92


def fn(i, v, r, s, p):
    r['\\N{GREEK SMALL LETTER ALPHA}'] = "\\N{GREEK SMALL LETTER BETA}" + str(len('é'.encode('utf-16')))
    r['prices'] = [row['price'] for row in s][-10:]
    r['grid'] = [[i, k * 0.1] for k in range(5)]
    if v['price'] < précio:
        p['dex'].buyA(1.5)
""",
        Status.OK,
    ),
}


PERTURBING = (
    "def fn(i, v, r, s, p):\n    t = ()\n    for k in range(10 ** 6):\n        t = (t,)\n    x = {t}\n",
    "def fn(i, v, r, s, p):\n    x = [0] * 10 ** 9\n",
    "def fn(i, v, r, s, p):\n    print('x' * 100000)\n    r['rows'] = [[k, str(k)] for k in range(3000)]\n",
    "hold = []\n\n\ndef fn(i, v, r, s, p):\n    hold.append([[k] for k in range(20000)])\n",
)
"""Other candidates for a warm parent to have been through: a crash, an out-of-memory, floods of output and memory."""


def outcome(evaluation):
    """Everything of an evaluation that must repeat bit for bit (all but the timings)."""
    e = evaluation
    return (e.status, e.score, e.metrics, e.per_seed, e.error, e.line, e.stdout, e.notes)


def evaluate_all(pool):
    requests = [(code, SCENARIO) for code, _ in CANDIDATES.values()]
    evaluations = pool.evaluate_many(requests, seeds=SEEDS, years=YEARS, limits=LIMITS)
    return dict(zip(CANDIDATES, map(outcome, evaluations), strict=True))


def differences(results, reference):
    return [name for name in CANDIDATES if results[name] != reference[name]]


@pytest.fixture(scope="module")
def three_pools():
    """Every candidate's outcome in each of three pools, started one after the other."""
    runs = []
    for _ in range(3):
        with SandboxPool(workers=2) as pool:
            runs.append(evaluate_all(pool))
    return runs


def test_there_are_twenty_candidates():
    assert len(CANDIDATES) == 20


@pytest.mark.parametrize("name", CANDIDATES)
def test_each_candidate_ends_as_intended(three_pools, name):
    status, _, _, per_seed, error, *_ = three_pools[0][name]
    assert status is CANDIDATES[name][1], error
    if status is Status.OK:
        assert len(per_seed) == len(SEEDS)


@pytest.mark.parametrize("name", CANDIDATES)
def test_a_candidate_is_evaluated_bit_identically_in_three_fresh_pools(three_pools, name):
    first, second, third = (results[name] for results in three_pools)
    assert second == first
    assert third == first


def test_a_warm_parents_history_does_not_change_a_result():
    with SandboxPool(workers=1) as pool:

        def sensitive():
            codes = (CANDIDATES[name][0] for name in SENSITIVE)
            return [outcome(pool.evaluate(code, SCENARIO, SEEDS, YEARS, LIMITS)) for code in codes]

        before = sensitive()
        for code, _ in CANDIDATES.values():
            pool.evaluate(code, SCENARIO, SEEDS, YEARS, LIMITS)
        for code in PERTURBING:
            assert pool.evaluate(code, SCENARIO, SEEDS, 0.05, LIMITS).status is not Status.CRASHED
        after = sensitive()
    assert [result[0] for result in before] == [Status.OK] * len(SENSITIVE)
    assert after == before


def test_a_pool_started_under_another_temporary_directory_gives_identical_results(three_pools, tmp_path, monkeypatch):
    elsewhere = tmp_path / "a-temporary-directory-whose-name-is-longer-than-usual"
    elsewhere.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(elsewhere))
    with SandboxPool(workers=2) as pool:
        assert pool._base.startswith("/tmp/evolver-sandbox-")  # not the caller's temporary directory
        results = evaluate_all(pool)
    assert differences(results, three_pools[0]) == []


def test_warm_parents_run_with_fixed_addresses_here():
    """This machine lets a process turn address randomisation off: if that ever stops working, say so (addresses,
    and the scores of players that read them, would then differ from one warm parent to the next)."""
    with SandboxPool(workers=1) as pool:
        assert pool.evaluate("def fn(i, v, r, s, p):\n    pass\n", SCENARIO).ok
        assert pool.fixed_addresses is True
