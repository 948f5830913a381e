"""Feedback in prompts (issue 15), end to end: the real openai SDK against the wire-level server, the real sandbox and
store. An improve prompt, as the server received it, shows the parent's training runs (each seed's numbers, the
refused actions by reason, the first seed's run in periods) and the inspirations the step names, and nothing of a
held-out run; a reply of SEARCH/REPLACE blocks edits the parent; one that does not apply falls back to the reply's
whole code, or fails and is repaired with the whole code."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
import wire
from test_cli import invoke
from test_providers import settings_for
from wire import WireServer

from evolver.engine import Engine
from evolver.job import JobSpec
from evolver.plan import Step
from evolver.store import Store
from sandbox import Evaluation, SandboxPool

MODEL = "openai:gpt-4o-mini"
SEEDS, HELDOUT = (0, 1), (2, 3)
POISON = 987_654_321.0
PARENT = (
    "def fn(i, v, r, s, p):\n    if i == 1:\n        p['dex'].sellA(1000)\n    if v['price'] < 0.9:\n"
    "        p['dex'].buyA(5)\n"
)
DIFF = (
    "Buy a little earlier:\n\n```python\n<<<<<<< SEARCH\n    if v['price'] < 0.9:\n=======\n"
    "    if v['price'] < 0.95:\n>>>>>>> REPLACE\n```\n"
)
NO_MATCH = DIFF.replace("< 0.9:\n=", "< 0.85:\n=")  # its SEARCH line is not in the parent
WHOLE = "def fn(i, v, r, s, p):\n    if v['price'] < 0.8:\n        p['dex'].buyA(2)\n"
ONLY_WHOLE = "Reply with exactly ONE ```python code block defining `fn(i, v, r, s, p)`, and nothing else."


def fenced(code: str) -> str:
    return f"```python\n{code}```"


def spec(**fields: Any) -> JobSpec:
    return JobSpec(scenario="hidden_bots", models=(MODEL,), seeds=SEEDS, heldout=HELDOUT, years=0.5, **fields)


class Poisoned:
    """The real pool, whose held-out evaluations come back with poisoned numbers and feedback (asked for or not)."""

    def __init__(self, pool: SandboxPool) -> None:
        self.pool, self.workers = pool, 1

    def evaluate(
        self, code: str, scenario: str, seeds: Sequence[int] = (0,), years: float | None = None, feedback: bool = False
    ) -> Evaluation:
        honest = self.pool.evaluate(code, scenario, seeds, years, feedback=feedback or tuple(seeds) == HELDOUT)
        if tuple(seeds) != HELDOUT:
            return honest
        metrics = {name: POISON for name in honest.metrics}
        refusal = {"reason": f"dex.buyA: POISONED {POISON}", "count": 7, "runs": 2, "seed": 2, "day": 3}
        poisoned = {**(honest.feedback or {}), "refusals": [refusal], "seed": HELDOUT[0]}
        return replace(honest, metrics=metrics, per_seed=[metrics] * len(seeds), feedback=poisoned)


def archived(store: Store, job_id: int, n: int) -> int:
    """Another player in the store, for the step to name as an inspiration."""
    code = f"def fn(i, v, r, s, p):\n    # inspiration {n}\n    if v['price'] < 0.{7 - n}:\n        p['dex'].buyA(1)\n"
    return store.add_candidate(
        key=f"archive:{n}", job_id=job_id, model_id=MODEL, op="init", generation=0, code=code, status="ok",
        score=40.5 + n, metrics={"usdc": 40.5 + n},
    )  # fmt: skip


def step_with_inspirations(engine: Engine, job_id: int, inspirations: tuple[int, ...]) -> Step:
    (step,) = engine.advance(job_id).steps
    return replace(step, inspirations=inspirations, why="the archive's most different players")


def test_an_improve_prompt_shows_the_parents_training_runs_and_inspirations_and_nothing_held_out(
    store: Store, pool: SandboxPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    with WireServer(wire.openai_reply(fenced(PARENT)), wire.openai_reply(DIFF)) as server:
        engine = Engine(store, settings_for(server.url, request_timeout=10), Poisoned(pool))
        job_id = engine.submit(spec(generations=2, attempts=1))
        (init,) = engine.advance(job_id).steps
        engine.propose(init)
        parent_id = engine.evaluate(init)
        others = tuple(archived(store, job_id, n) for n in range(3))
        step = step_with_inspirations(engine, job_id, others)
        assert step.op == "improve" and step.parent_id == parent_id
        engine.propose(step)
        child_id = engine.evaluate(step)
        received = server.requests[-1].body["messages"]
    text = received[-1]["content"]
    trained, held = store.evaluations(parent_id)
    assert (trained.heldout, held.heldout, held.feedback) == (False, True, None)  # a held-out run's is never stored
    feedback = trained.feedback
    assert feedback is not None and (feedback["runs"], feedback["seed"]) == (2, 0)
    for seed, metrics in zip(trained.seeds, trained.per_seed, strict=True):
        line = f"- seed {seed}: {metrics['usdc']:.10g}; {metrics['actions']:g} actions; {metrics['refused']:g} refused"
        assert line in text
    assert "- dex.sellA: not enough AI: 2 times, on 2 of 2 runs (first on day 1 of seed 0)" in text
    for refusal in feedback["refusals"]:
        assert f"- {refusal['reason']}: {refusal['count']} times" in text
    assert "Its run on seed 0, period by period" in text
    days = [f"- days {first}-{last}: " for first, last in (period["days"] for period in feedback["periods"])]
    assert len(days) == 12 and days[0] == "- days 1-15: " and all(row in text for row in days)
    assert "dex.sellA x" not in text and ("dex.buyA x" in text) == any(p["trades"] for p in feedback["periods"])
    for n, other in enumerate(others):
        assert f"One that scores {40.5 + n:g}:" in text and f"# inspiration {n}" in store.candidate(other).code
        assert f"# inspiration {n}" in text
    assert "edit your best player above" in text and "<<<<<<< SEARCH" in text and "Error:" not in text
    everything = " ".join(message["content"] for message in received)
    assert not re.search(r"98765|9\.8\d*e\+?0?8|POISON", everything)  # nothing of a held-out run
    child = store.candidate(child_id)
    assert child is not None and child.status == "ok"
    assert child.code == PARENT.replace("< 0.9:", "< 0.95:")  # the parent with the edit
    why = "the archive's most different players"
    assert child.choice == {
        "parent": parent_id,
        "target": None,
        "inspirations": list(others),
        "why": why,
        "edit": "diff",
    }
    assert store.candidate(parent_id).choice == {  # type: ignore[union-attr]
        "parent": None, "target": None, "inspirations": [], "why": "", "edit": "rewrite",
    }  # fmt: skip
    monkeypatch.setenv("EVOLVER_DATABASE_URL", store.url)
    monkeypatch.setenv("COLUMNS", "300")
    ideas = " ".join(f"#{other}" for other in others)
    assert f"#{child_id} improve {MODEL} (gen 2, diff, ideas {ideas})" in invoke("lineage", str(job_id)).output
    shown = invoke("show", str(child_id)).output
    assert f"chosen: parent #{parent_id}, ideas from {ideas} (why: the archive's most different players); the " in shown
    assert "reply edited by diff" in shown


def test_a_diff_that_does_not_apply_falls_back_to_the_whole_code_in_the_same_reply(
    store: Store, pool: SandboxPool
) -> None:
    with WireServer(
        wire.openai_reply(fenced(PARENT)), wire.openai_reply(NO_MATCH + "\nOr whole:\n" + fenced(WHOLE))
    ) as server:
        job_id = Engine(store, settings_for(server.url, request_timeout=10), pool).execute(
            spec(generations=2, attempts=1)
        )
    _, improve = store.lineage(job_id)
    assert (improve.op, improve.status, improve.code) == ("improve", "ok", WHOLE)
    assert improve.choice is not None and improve.choice["edit"] == "rewrite"


def test_a_diff_that_does_not_apply_is_repaired_with_the_whole_code(store: Store, pool: SandboxPool) -> None:
    script = [wire.openai_reply(text) for text in (fenced(PARENT), NO_MATCH, fenced(WHOLE))]
    with WireServer(*script) as server:
        job_id = Engine(store, settings_for(server.url, request_timeout=10), pool).execute(
            spec(generations=2, attempts=2)
        )
        repair_prompt = server.requests[-1].body["messages"][-1]["content"]
    init, improve, repair = store.lineage(job_id)
    assert [(c.op, c.status) for c in (init, improve, repair)] == [("init", "ok"), ("improve", "no_code"),
                                                                   ("repair", "ok")]  # fmt: skip
    assert improve.error == (
        "SEARCH/REPLACE block 1 of 1: its SEARCH lines (\"if v['price'] < 0.85:\"...) match no lines of the code; "
        "copy them exactly, indentation included; reply with the whole code in one ```python block"
    )
    assert improve.code == PARENT and improve.choice["edit"] == "diff"  # type: ignore[index]
    assert repair.parent_id == improve.id and repair.code == WHOLE and repair.choice["edit"] == "rewrite"  # type: ignore[index]
    assert f"Error: {improve.error}" in repair_prompt and f"```python\n{PARENT}```" in repair_prompt
    assert repair_prompt.endswith(ONLY_WHOLE) and "<<<<<<< SEARCH" not in repair_prompt
