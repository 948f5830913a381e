"""A job: models take turns writing players for a scenario's slot, and every candidate is kept with its lineage.

Each generation every model takes one turn: `init` when it has no player yet, `beat` when another model's
best is better than its own (the target is that best), `improve` otherwise (the parent is its own best).
A turn has up to `attempts` tries; a try whose code fails is followed by a `repair` of it. A try counts when
it improves on what it was measured against (AI3's comp: 0 improved); a model's best is its best ok
candidate. The job ends after its generations, or cleanly when the cost budget is spent.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt

from evolver.comp import IMPROVED, Comp, parse_comp
from evolver.errors import NoCode, ProviderError
from evolver.extract import extract_code
from evolver.pricing import cost, load_prices
from evolver.prompting import context_for, render
from evolver.providers import get_provider
from evolver.providers.base import ProposalRequest, Provider, Reply
from evolver.settings import Settings
from evolver.store import Store
from sandbox import Evaluation, SandboxPool
from simcore import Scenario, load_scenario


class JobSpec(BaseModel):
    """What to evolve and within what budget; validated before anything runs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scenario: str
    models: tuple[str, ...] = Field(("local:gp",), min_length=1)
    goal: str | None = None  # None: the slot's goal
    comp: str | None = None  # None: the slot's comp
    generations: PositiveInt = 10
    attempts: PositiveInt = 3
    max_cost: NonNegativeFloat | None = None  # USD; None: no limit
    seed: NonNegativeInt = 0
    seeds: tuple[NonNegativeInt, ...] = Field((0,), min_length=1)  # the evaluation seeds, the same for every candidate
    years: PositiveFloat | None = None


@dataclass(frozen=True)
class Player:
    """A candidate that evaluated ok: what later turns build on."""

    id: int
    model: str
    code: str
    metrics: dict[str, float]
    score: float


@dataclass(frozen=True)
class Event:
    """One stored candidate, for a live view: what it was and where every model stands."""

    job_id: int
    generation: int
    model: str
    op: str
    status: str
    score: float | None
    improved: bool | None
    best: dict[str, float]
    calls: dict[str, int]
    cost: dict[str, float]


@dataclass
class _Try:
    """The turn in progress: what it builds on and the last failed code to repair."""

    op: str
    parent: Player | None
    target: Player | None
    failed: tuple[int, str, str, int | None] | None = None  # candidate id, code, error, line


@dataclass
class JobRunner:
    """Runs one JobSpec against a store and a sandbox pool; `on_event` sees every candidate as it is stored."""

    spec: JobSpec
    store: Store
    settings: Settings
    pool: SandboxPool
    on_event: Callable[[Event], None] | None = None
    best: dict[str, Player] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    spent: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.scenario: Scenario = load_scenario(self.spec.scenario)
        self.comp: Comp = parse_comp(self.spec.comp, self.scenario)
        self.providers: dict[str, Provider] = {m: get_provider(m, self.settings) for m in self.spec.models}
        self.prices = load_prices(self.settings.prices_path)
        self.calls = dict.fromkeys(self.spec.models, 0)
        self.spent = dict.fromkeys(self.spec.models, 0.0)

    def run(self) -> int:
        """Create the job, run it to its end, and return its id. The job row says how it ended."""
        spec, slot = self.spec, self.scenario.slot
        assert slot is not None  # parse_comp checked it
        budget = {"generations": spec.generations, "attempts": spec.attempts, "max_cost": spec.max_cost}
        job_id = self.store.create_job(
            scenario=spec.scenario,
            goal=spec.goal or slot.goal,
            comp=self.comp.text,
            direction=self.comp.direction,
            models=list(spec.models),
            budget={**budget, "seeds": list(spec.seeds), "years": spec.years},
            seed=spec.seed,
        )
        self.store.set_job_status(job_id, "running", expected="pending")
        try:
            for generation in range(spec.generations):
                for model in spec.models:
                    if not self._turn(job_id, generation, model):
                        message = f"the cost budget of ${spec.max_cost:g} was reached"
                        self.store.set_job_status(job_id, "stopped", expected="running", error=message)
                        return job_id
        except BaseException as exc:
            self.store.set_job_status(job_id, "failed", expected="running", error=f"{type(exc).__name__}: {exc}")
            raise
        self.store.set_job_status(job_id, "done", expected="running")
        return job_id

    def _leader(self) -> Player | None:
        """The best player of all models (the earliest model's on a tie), or None before any."""
        players = list(self.best.values())
        beaten = (p for p in players if all(self.comp.compare(p.metrics, q.metrics) != IMPROVED for q in players))
        return next(beaten, None)

    def _turn(self, job_id: int, generation: int, model: str) -> bool:
        """One model's turn; False when the cost budget stopped it."""
        own, leader = self.best.get(model), self._leader()
        if own is None:
            turn = _Try("init", None, None)
        elif (
            leader is not None and leader.model != model and self.comp.compare(own.metrics, leader.metrics) == IMPROVED
        ):
            turn = _Try("beat", own, leader)
        else:
            turn = _Try("improve", own, None)
        for attempt in range(self.spec.attempts):
            if self.spec.max_cost is not None and sum(self.spent.values()) >= self.spec.max_cost:
                return False
            if self._attempt(job_id, generation, attempt, model, turn):
                break
        return True

    def _attempt(self, job_id: int, generation: int, attempt: int, model: str, turn: _Try) -> bool:
        """One proposal, evaluated and stored; True when the turn's goal is reached."""
        op = "repair" if turn.failed else turn.op
        context = context_for(
            self.scenario,
            parent=(turn.failed[1], None) if turn.failed else _pair(turn.parent),
            target=_pair(turn.target),
            error=turn.failed[2] if turn.failed else None,
            error_line=turn.failed[3] if turn.failed else None,
        )
        messages = render(op, self.scenario, context, goal=self.spec.goal, comp=self.comp.text)
        seed = zlib.crc32(f"{self.spec.seed}:{model}:{generation}:{attempt}".encode())
        key = f"{job_id}:{model}:{generation}:{attempt}"
        parent_id = turn.failed[0] if turn.failed else (turn.parent.id if turn.parent else None)
        record = {
            "key": key, "job_id": job_id, "model_id": model, "generation": generation, "prompt": list(messages),
            "parent_id": parent_id, "target_id": turn.target.id if turn.target else None,
        }  # fmt: skip
        self.calls[model] += 1
        try:
            reply = self.providers[model].propose(ProposalRequest(op, messages, context, seed=seed))
        except ProviderError as exc:
            self._store(record | {"op": op, "code": "", "status": "provider_error", "error": str(exc)}, None)
            return False
        price = cost(model, reply.tokens_in, reply.tokens_out, self.prices)
        self.spent[model] += price
        record |= _spend(reply, price) | {"op": reply.op or op}
        try:
            code = extract_code(reply.text)
        except NoCode as exc:
            fields = {"code": exc.code or "", "status": "no_code", "error": str(exc), "error_line": exc.line}
            cid = self._store(record | fields, None)
            if exc.code:  # code that does not parse or has no fn: the next try repairs it
                turn.failed = (cid, exc.code, str(exc), exc.line)
            return False
        evaluation = self.pool.evaluate(code, self.spec.scenario, self.spec.seeds, self.spec.years)
        if not evaluation.ok:
            cid = self._store(record | _failure(code, evaluation), evaluation)
            turn.failed = (cid, code, evaluation.error or evaluation.status.value, evaluation.line)
            return False
        turn.failed = None
        reference = turn.target or turn.parent
        improved = reference is None or self.comp.compare(reference.metrics, evaluation.metrics) == IMPROVED
        score = self.comp.score(evaluation.metrics)
        fields = {"code": code, "status": "ok", "score": score, "metrics": evaluation.metrics, "improved": improved}
        cid = self._store(record | fields, evaluation)
        player = Player(cid, model, code, evaluation.metrics, score)
        own = self.best.get(model)
        if own is None or self.comp.compare(own.metrics, player.metrics) == IMPROVED:
            self.best[model] = player
        return improved

    def _store(self, fields: dict, evaluation: Evaluation | None) -> int:
        cid = self.store.add_candidate(**fields)
        if evaluation is not None:
            self.store.add_evaluation(
                candidate_id=cid, seeds=list(self.spec.seeds), years=self.spec.years, status=evaluation.status.value,
                score=fields.get("score"), metrics=evaluation.metrics, per_seed=evaluation.per_seed,
                timings=evaluation.timings,
            )  # fmt: skip
        if self.on_event is not None:
            self.on_event(
                Event(
                    fields["job_id"], fields["generation"], fields["model_id"], fields["op"], fields["status"],
                    fields.get("score"), fields.get("improved"), {m: p.score for m, p in self.best.items()},
                    dict(self.calls), dict(self.spent),
                )
            )  # fmt: skip
        return cid


def _pair(player: Player | None) -> tuple[str, float] | None:
    return (player.code, player.score) if player else None


def _spend(reply: Reply, price: float) -> dict:
    return {
        "reply": reply.text, "tokens_in": reply.tokens_in, "tokens_out": reply.tokens_out, "cost": price,
        "latency_ms": reply.latency_ms,
    }  # fmt: skip


def _failure(code: str, evaluation: Evaluation) -> dict:
    return {"code": code, "status": evaluation.status.value, "error": evaluation.error, "error_line": evaluation.line}
