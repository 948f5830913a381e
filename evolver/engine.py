"""The engine: the three operations every executor is made of, each safe to repeat.

- `advance(job)`: moves the job along: starts it, writes the matches decided, ends it, and returns the plan
  whose steps are to run now (evolver/plan.py).
- `propose(step)`: one model call, its reply cached by (model, prompt hash, seed); a cached reply is not
  asked for again, and no call is made once the job's cost budget is spent.
- `evaluate(step)`: one sandbox evaluation of the reply's code, written as the step's candidate.

Every write is keyed (the candidate by the step's key, the match by round and models, the reply by its
prompt), so running an operation twice, from two processes or after a crash, changes nothing. `run` is the
in-process executor; worker/ is the Celery one, built of the same three operations.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Protocol

from evolver.comp import IMPROVED, Comp, parse_comp
from evolver.errors import EvolverError, NoCode, ProviderError
from evolver.extract import extract_code
from evolver.job import BUDGET, JobSpec
from evolver.limits import Limiter, limiter_for
from evolver.plan import Plan, Step, plan
from evolver.pricing import cost, load_prices
from evolver.prompting import context_for, render
from evolver.providers import get_provider
from evolver.providers.base import ProposalRequest, Provider
from evolver.settings import Settings
from evolver.store import CandidateRow, JobRow, Store
from sandbox import Evaluation
from simcore import Scenario, load_scenario

FINAL = ("done", "failed", "stopped")


class Evaluator(Protocol):
    """What evaluates code: a sandbox.SandboxPool."""

    def evaluate(
        self, code: str, scenario: str, seeds: Sequence[int] = (0,), years: float | None = None
    ) -> Evaluation: ...


class JobError(EvolverError):
    """A job id that names no job, or a job that cannot do what was asked (e.g. resume a finished one)."""


@dataclass(frozen=True)
class Progress:
    """After each stored candidate of an in-process run: the candidate and where every model stands."""

    job_id: int
    phase: int
    phases: int
    candidate: CandidateRow
    best: dict[str, float]  # model id -> best score so far
    calls: dict[str, int]
    cost: dict[str, float]


@dataclass(frozen=True)
class _Job:
    row: JobRow
    spec: JobSpec
    scenario: Scenario
    comp: Comp


class Engine:
    """The operations on jobs in one store, evaluating in `evaluator` and calling models within `limiter`.

    Without an evaluator the engine can submit, advance and propose, but not evaluate.
    """

    def __init__(
        self, store: Store, settings: Settings, evaluator: Evaluator | None = None, limiter: Limiter | None = None
    ) -> None:
        self.store, self.settings, self.evaluator = store, settings, evaluator
        self.limiter = limiter or limiter_for(settings)
        self.prices = load_prices(settings.prices_path)
        self._jobs: dict[int, _Job] = {}
        self._providers: dict[str, Provider] = {}

    # Submitting

    def submit(self, spec: JobSpec) -> int:
        """Checks the spec against its scenario and the models, stores it as a `pending` job; returns its id."""
        scenario = load_scenario(spec.scenario)
        comp = parse_comp(spec.comp, scenario)
        for model in spec.models:
            self._provider(model)
        assert scenario.slot is not None  # parse_comp checked it
        return self.store.create_job(
            kind=spec.kind, scenario=spec.scenario, goal=spec.goal or scenario.slot.goal, comp=comp.text,
            direction=comp.direction, models=list(spec.models), seed=spec.seed,
            budget=spec.model_dump(include=set(BUDGET), mode="json"),
        )  # fmt: skip

    # The three operations

    def advance(self, job_id: int) -> Plan:
        """Starts a pending job, writes its decided matches, ends it when it is over; the plan of what runs now."""
        job = self._job(job_id)
        status = self._status(job_id)
        self.store.set_job_status(job_id, "running", expected="pending")
        current = self.plan(job_id)
        known = {(m.round, m.challenger, m.defender) for m in self.store.matches(job_id)}
        for match in current.matches:
            if (match.round, match.challenger, match.defender) not in known:
                self.store.add_match(job_id=job_id, seeds=job.spec.seeds, **asdict(match))
        if status in FINAL:
            return _nothing(current)
        limit = job.spec.max_cost
        if current.steps and limit is not None and current.spent >= limit:
            message = f"the cost budget of ${limit:g} was reached"
            self.store.set_job_status(job_id, "stopped", expected="running", error=message)
            return _nothing(current)
        if current.finished:
            self.store.set_job_status(job_id, "done", expected="running")
        return current

    def plan(self, job_id: int) -> Plan:
        """Where the job stands, from its stored candidates (nothing is written)."""
        job = self._job(job_id)
        spec = job.spec
        return plan(
            job_id=job_id, kind=spec.kind, models=spec.models, comp=job.comp, seed=spec.seed, attempts=spec.attempts,
            length=spec.length, candidates=self.store.lineage(job_id),
        )  # fmt: skip

    def propose(self, step: Step) -> None:
        """Asks the step's model for code, once: the reply is cached; a failed call is stored as the try."""
        job = self._job(step.job_id)
        if self.store.candidate_id(step.key) is not None:
            return
        request, digest = self._request(step)
        if self.store.cached_reply(step.model, digest, step.seed) is not None:
            return
        limit = job.spec.max_cost
        if limit is not None and self.store.spent(step.job_id) >= limit:
            return  # the budget is spent: `advance` stops the job
        try:
            with self.limiter.slot(step.model):
                reply = self._provider(step.model).propose(request)
        except ProviderError as exc:
            failure = {"op": step.op, "code": "", "status": "provider_error", "error": str(exc)}
            self._store(step, failure | {"prompt": list(request.messages)}, None)
            return
        self.store.cache_reply(
            model_id=step.model, prompt_hash=digest, seed=step.seed, text=reply.text, op=reply.op,
            tokens_in=reply.tokens_in, tokens_out=reply.tokens_out, latency_ms=reply.latency_ms,
            requests=reply.requests,
        )  # fmt: skip

    def evaluate(self, step: Step) -> int | None:
        """Evaluates the cached reply's code and stores the step's candidate; its id (None: no reply to score)."""
        job = self._job(step.job_id)
        found = self.store.candidate_id(step.key)
        if found is not None:
            return found
        request, digest = self._request(step)
        reply = self.store.cached_reply(step.model, digest, step.seed)
        if reply is None:
            return None
        price = cost(step.model, reply.tokens_in, reply.tokens_out, self.prices)
        spend = {
            "op": reply.op or step.op, "prompt": list(request.messages), "reply": reply.text,
            "tokens_in": reply.tokens_in, "tokens_out": reply.tokens_out, "cost": price, "latency_ms": reply.latency_ms,
        }  # fmt: skip
        try:
            code = extract_code(reply.text)
        except NoCode as exc:
            return self._store(step, spend | {"code": exc.code or "", "status": "no_code", "error": str(exc),
                                              "error_line": exc.line}, None)  # fmt: skip
        spec = job.spec
        if self.evaluator is None:
            raise EvolverError("this engine has no sandbox to evaluate in (give it a sandbox.SandboxPool)")
        evaluation = self.evaluator.evaluate(code, spec.scenario, spec.seeds, spec.years)
        if not evaluation.ok:
            failure = {"code": code, "status": evaluation.status.value, "error": evaluation.error,
                       "error_line": evaluation.line}  # fmt: skip
            return self._store(step, spend | failure, evaluation)
        reference = self.store.candidate(step.reference_id) if step.reference_id else None
        improved = reference is None or job.comp.compare(reference.metrics, evaluation.metrics) == IMPROVED
        fields = {"code": code, "status": "ok", "score": job.comp.score(evaluation.metrics),
                  "metrics": evaluation.metrics, "improved": improved}  # fmt: skip
        return self._store(step, spend | fields, evaluation)

    # The in-process executor

    def run(self, job_id: int, on_progress: Callable[[Progress], None] | None = None) -> str:
        """Runs the job here to its end; returns how it ended. An error marks the job failed.

        A phase's steps are independent: they run side by side, as many at once as the evaluator has workers.
        """
        workers = getattr(self.evaluator, "workers", 1)
        try:
            with ThreadPoolExecutor(workers, thread_name_prefix="evolver-step") as executor:
                while steps := self.advance(job_id).steps:
                    for candidate_id in executor.map(self._step, steps):
                        if on_progress is not None and candidate_id is not None:
                            on_progress(self.progress(job_id, candidate_id))
        except BaseException as exc:
            self.fail(job_id, exc)
            raise
        return self._status(job_id)

    def execute(self, spec: JobSpec, on_progress: Callable[[Progress], None] | None = None) -> int:
        """Submits the spec and runs it here to its end; returns the job's id (its row says how it ended)."""
        job_id = self.submit(spec)
        self.run(job_id, on_progress)
        return job_id

    def resume(self, job_id: int) -> None:
        """Makes an interrupted job (failed, or running with nobody left on it) runnable again."""
        status = self._status(job_id)
        if status in ("done", "stopped"):
            raise JobError(f"job {job_id} is {status}: there is nothing left to resume")
        self.store.set_job_status(job_id, "running", expected="failed")

    def fail(self, job_id: int, exc: BaseException) -> None:
        """Marks a running job failed with the error (a resume picks it up again)."""
        self.store.set_job_status(job_id, "failed", expected="running", error=f"{type(exc).__name__}: {exc}")

    def progress(self, job_id: int, candidate_id: int) -> Progress:
        """The candidate and every model's standing, for a live view."""
        job = self._job(job_id)
        candidate = self.store.candidate(candidate_id)
        assert candidate is not None
        totals = self.store.job_totals(job_id)
        best = {model: row.score for model, row in self.store.best_per_model(job_id, job.comp.direction).items()}
        phases = job.spec.length if job.spec.kind == "evolve" else 1 + 2 * job.spec.length
        return Progress(
            job_id, candidate.generation, phases, candidate, best,  # type: ignore[arg-type]
            {m: int(t["calls"]) for m, t in totals.items()}, {m: t["cost"] for m, t in totals.items()},
        )  # fmt: skip

    # Helpers

    def _step(self, step: Step) -> int | None:
        self.propose(step)
        return self.evaluate(step)

    def _job(self, job_id: int) -> _Job:
        if job_id not in self._jobs:
            row = self.store.job(job_id)
            if row is None:
                raise JobError(f"no job {job_id}; `evolver jobs` lists them")
            spec = JobSpec.from_row(row)
            scenario = load_scenario(spec.scenario)
            self._jobs[job_id] = _Job(row, spec, scenario, parse_comp(spec.comp, scenario))
        return self._jobs[job_id]

    def _status(self, job_id: int) -> str:
        row = self.store.job(job_id)
        if row is None:
            raise JobError(f"no job {job_id}; `evolver jobs` lists them")
        return row.status

    def _provider(self, model: str) -> Provider:
        if model not in self._providers:
            self._providers[model] = get_provider(model, self.settings)
        return self._providers[model]

    def _request(self, step: Step) -> tuple[ProposalRequest, str]:
        """The step's request and its hash (messages and structured context: what any provider reads)."""
        job = self._job(step.job_id)
        parent = self.store.candidate(step.parent_id) if step.parent_id else None
        target = self.store.candidate(step.target_id) if step.target_id else None
        repairing = step.op == "repair" and parent is not None
        context = context_for(
            job.scenario,
            parent=(parent.code, None if repairing else parent.score) if parent else None,
            target=(target.code, target.score) if target else None,
            error=(parent.error or parent.status) if repairing else None,
            error_line=parent.error_line if repairing else None,
        )
        messages = render(step.op, job.scenario, context, goal=job.spec.goal, comp=job.comp.text)
        request = ProposalRequest(step.op, messages, context, seed=step.seed)
        payload = {"op": step.op, "messages": messages, "context": asdict(context), "seed": step.seed}
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=list).encode()).hexdigest()
        return request, digest

    def _store(self, step: Step, fields: dict, evaluation: Evaluation | None) -> int:
        spec = self._job(step.job_id).spec
        candidate_id = self.store.add_candidate(
            key=step.key, job_id=step.job_id, model_id=step.model, generation=step.phase,
            parent_id=step.parent_id, target_id=step.target_id, **fields,
        )  # fmt: skip
        if evaluation is not None:
            self.store.add_evaluation(
                candidate_id=candidate_id, seeds=list(spec.seeds), years=spec.years, status=evaluation.status.value,
                score=fields.get("score"), metrics=evaluation.metrics, per_seed=evaluation.per_seed,
                timings=evaluation.timings,
            )  # fmt: skip
        return candidate_id


def _nothing(current: Plan) -> Plan:
    return Plan(current.phase, current.phases, (), current.matches, current.best, current.spent)
