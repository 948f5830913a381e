"""Players whose behaviour hangs on what a process could make differ (an object's address, the order a set of
functions or NaNs iterates, when the garbage collector runs, the memory left): the same code must score the same
in every evaluation, so these are the players that would show it if it did not. Shared by the sandbox's tests."""

# Player-side tools for the collector: a suspended generator left in a reference cycle is finalised (its
# `finally` block runs) only when the garbage collector runs, so a player can time its finalisers.
GC_TOOLS = """
def sentinel(flag):
    try:
        yield 1
    finally:
        flag.append(1)


def plant(make):
    g = make()
    for x in g:
        break
    box = [g]
    box.append(box)


def sync(hold):
    flag = []
    plant(lambda: sentinel(flag))
    while not flag:
        hold.append([])
"""

READERS = {
    "string-set-order": """
def fn(i, v, r, s, p):
    first = list({'up', 'down', 'hold', 'wait', str(i)})[0]
    if first in ('up', 'hold', str(i)) and v['price'] < 0.95:
        p['dex'].buyA(1)
    r['first'] = first
""",
    "function-set-order": """
def fn(i, v, r, s, p):
    buy = lambda: p['dex'].buyA(1)
    wait = lambda: 0
    hold = lambda: 0
    skip = lambda: 0
    if v['price'] < 0.95:
        list({buy, wait, hold, skip})[i % 4]()
""",
    "nan-set-order": """
def fn(i, v, r, s, p):
    nan = float('nan')
    picks = list({nan, float('nan'), float('nan'), 0.5, 1.5})
    if picks[i % 5] == picks[i % 5] and v['price'] < 0.95:
        p['dex'].buyA(picks[i % 5])
""",
    "repr-addresses": """
def fn(i, v, r, s, p):
    seen = repr(lambda: 0) + repr(p['rng']) + repr([].append)
    if int(seen[-5:-1], 16) % 3 == 0 and v['price'] < 0.95:
        p['dex'].buyA(1)
    r['bits'] = r.get('bits', '') + seen[-3]
""",
    "collector-timing": GC_TOOLS
    + """
fired = []


def fn(i, v, r, s, p):
    plant(lambda: sentinel(fired))
    junk = [[k] for k in range(i % 50)]
    if len(fired) % 2 and v['price'] < 0.95:
        p['dex'].buyA(1)
    r['fired'] = len(fired)
""",
    "memory-probe": """
def fn(i, v, r, s, p):
    if i == 1:
        chunks = []
        size = 2 ** 20
        while size >= 4096:
            try:
                chunks.append(' ' * size)
            except Exception:
                size = size // 2
        r['room'] = len(chunks)
        chunks = None
    if r['room'] % 2 and v['price'] < 0.95:
        p['dex'].buyA(1)
""",
}
