"""A job driven by each real SDK against our wire-level server: what the model answers, what gets stored.

The script per SDK: a rate limit with Retry-After, code with a syntax error, its repair, a reply with no
code, hostile code, and its repair into a better player. The tests check the rows written, the lineage
(repairs point at the candidate they fix), and the number of requests the server received.
"""

import json

import pytest
import wire
from test_providers import APIS, KEY, Api, settings_for
from wire import WireServer

from evolver.engine import Engine
from evolver.job import JobSpec
from evolver.store import Store

BROKEN = "Here it is:\n```python\ndef fn(i, v, r, s, p):\n    if v['price'] < 1\n        p['dex'].buyA(1)\n```"
HOLD = "```python\ndef fn(i, v, r, s, p):\n    if i == 1:\n        p['dex'].buyA(1)\n```"
PROSE = "I would buy low and sell high, but I cannot write code today."
HOSTILE = "```python\ndef fn(i, v, r, s, p):\n    import os\n    return os.getpid()\n```"
TRADER = (
    "```python\ndef fn(i, v, r, s, p):\n    if v['price'] < 0.9:\n        p['dex'].buyA(5)\n"
    "    elif v['price'] > 1.0:\n        p['dex'].sellA(5)\n```"
)


@pytest.mark.parametrize("api", APIS, ids=lambda api: api.model_id.partition(":")[0])
def test_a_job_through_each_sdk(tmp_path, pool, api: Api):
    script = [wire.error(429, retry_after="0.1")] + [api.reply(text, 100, 20) for text in
                                                     (BROKEN, HOLD, PROSE, HOSTILE, TRADER)]  # fmt: skip
    store = Store(f"sqlite:///{tmp_path / 'llm.db'}")
    store.upgrade()
    routes = {"/api/tags": [wire.ollama_tags(api.model_id.partition(":")[2])]}  # Ollama's check at submit
    with WireServer(*script, routes=routes) as server:
        spec = JobSpec(scenario="ai3_plugins", models=(api.model_id,), generations=2, attempts=3)
        # nothing here hangs: a roomy timeout, so a loaded machine's slow answer is not taken for a lost one
        job_id = Engine(store, settings_for(server.url, request_timeout=10), pool).execute(spec)
        requests = [r for r in server.requests if r.path != "/api/tags"]
        checks = len(server.requests) - len(requests)
    assert len(requests) == 6 and all(r.path == api.path for r in requests)
    assert checks == (1 if api.model_id.startswith("ollama:") else 0)
    assert store.job(job_id).status == "done"
    rows = store.lineage(job_id)
    assert [(c.op, c.status) for c in rows] == [
        ("init", "no_code"),
        ("repair", "ok"),
        ("improve", "no_code"),
        ("improve", "runtime_error"),
        ("repair", "ok"),
    ]
    broken, held, prose, hostile, trader = rows
    assert broken.error_line == 2 and "def fn" in broken.code
    assert held.parent_id == broken.id and prose.code == "" and "no code" in prose.error
    assert hostile.error_line == 2 and "import" in hostile.error
    assert trader.parent_id == hostile.id and trader.improved and trader.score > held.score
    assert store.best(job_id, "max").id == trader.id
    repair_prompt = json.dumps(requests[2].body)
    assert "line 2" in repair_prompt and "p['dex'].buyA(1)" in repair_prompt
    assert all(c.tokens_in == 100 and c.tokens_out == 20 for c in rows)
    (standing,) = store.standings(job_id, "max", (api.model_id,))
    assert standing.calls == 5 and standing.cost == pytest.approx(
        5 * (100 * api.price.input + 20 * api.price.output) / 1e6
    )
    stored = json.dumps([c.prompt for c in rows] + [c.reply for c in rows])
    assert KEY not in stored
