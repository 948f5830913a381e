"""The engine: the three operations every executor is made of, each safe to repeat.

- `advance(job)`: moves the job along: starts it, writes the matches decided, ends it, and returns the plan
  whose steps are to run now (evolver/plan.py).
- `propose(step)`: one model call, its reply cached for that step of that job (a redelivered step is neither
  paid twice nor answered differently); no call is made once the job's cost budget is spent. A job made to
  replay another reuses that job's replies to the same prompts, paying nothing for them. A model that cannot
  be used at all (no key, unknown, unreachable) fails a job, and retires from a tournament.
- `evaluate(step)`: the reply's code (whole, or SEARCH/REPLACE blocks applied to the code the prompt showed)
  evaluated on the job's training seeds (what every choice is made on, and what the next prompts show of it: the
  sandbox's feedback) and, if it ran ok, on its held-out seeds (reported only), written as the step's candidate
  with both evaluations and what the step chose (`choice`).

Every write is keyed (the candidate by the step's key, the match by round and models, the reply by its step
and prompt), so running an operation twice, from two processes or after a crash, changes nothing. `run` is the
in-process executor; worker/ is the Celery one, built of the same three operations.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from pydantic import ValidationError

from evolver.comp import IMPROVED, Comp, parse_comp
from evolver.errors import EvolverError, Interrupted, NoCode, ProviderError
from evolver.extract import extract_edit
from evolver.job import BUDGET, JobSpec
from evolver.limits import Limiter, limiter_for
from evolver.pinning import check_components, job_scenario, pin
from evolver.plan import Plan, Step, plan, round_of
from evolver.pricing import Prices, cost, load_prices
from evolver.prompting import context_for, render
from evolver.providers import get_provider
from evolver.providers.base import ProposalRequest, Provider
from evolver.settings import Settings
from evolver.state import LIVE, interrupted
from evolver.store import CandidateRow, EvaluationRow, JobRow, PlanRow, Standing, Store
from evolver.syntax import parse
from evolver.tuning import Trial, skeleton, values
from sandbox import Evaluation, MatchEvaluation
from simcore import Scenario, load_scenario

FINAL = ("done", "failed", "stopped")
INTERRUPT_GRACE = 5.0  # seconds an interrupted in-process run waits for the tries already under way


class Evaluator(Protocol):
    """What evaluates code: a sandbox.SandboxPool."""

    def evaluate(
        self, code: str, scenario: str, seeds: Sequence[int] = (0,), years: float | None = None, *,
        feedback: bool = False,
    ) -> Evaluation: ...  # fmt: skip

    def evaluate_match(
        self, codes: Sequence[str], scenario: str, seeds: Sequence[int] = (0,), years: float | None = None
    ) -> MatchEvaluation: ...


class JobError(EvolverError):
    """A job id that names no job, or a job that cannot do what was asked (e.g. resume a finished one)."""


@dataclass(frozen=True)
class Progress:
    """After each stored candidate of an in-process run: the candidate and where every model stands."""

    job_id: int
    phase: int
    phases: int
    candidate: CandidateRow
    standings: tuple[Standing, ...]  # every model's, in the job's order


@dataclass(frozen=True)
class _Job:
    row: JobRow
    spec: JobSpec
    ref: str  # what the pinned scenario loads by (evolver/pinning.py)
    scenario: Scenario
    comp: Comp

    @property
    def seats(self) -> int:
        """The slot's seats: more than one is an arena."""
        return self.scenario.slot.seats if self.scenario.slot is not None else 1


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
        self._planned: dict[int, tuple[int, tuple[PlanRow, ...]]] = {}  # job -> (phase, the rows before it)
        self._parameters: dict[int, tuple[float, ...]] = {}  # candidate -> its parameters (evolver/tuning.py)
        self._requests: dict[str, tuple[ProposalRequest, str]] = {}  # step key -> its request, until it is stored

    # Submitting

    def submit(self, spec: JobSpec) -> int:
        """Checks the spec against its scenario and the models, stores it as a `pending` job with its scenario
        pinned, its seeds explicit (the game's where the spec names none) and, when its game has an optimum, its
        seeds' reference (idle and optimum scores, computed from the pinned scenario); returns its id. Nothing is
        spent: a model that could not be used or priced is refused here."""
        from evolver.games import job_reference_for  # here, so this method is the engine's only part that knows it

        pinned = pin(spec.scenario)
        scenario = load_scenario(pinned.ref)
        comp = parse_comp(spec.comp, scenario)
        assert scenario.slot is not None and scenario.game is not None  # parse_comp checked it: a slot is a game
        spec = _with_game_seeds(spec, scenario)
        self.check_models(spec.models)
        if spec.replay is not None and self.store.job(spec.replay) is None:
            raise JobError(f"--replay {spec.replay}: there is no job {spec.replay}; `evolver jobs` lists them")
        reference = job_reference_for(scenario, comp, spec.seeds or (), spec.heldout or (), spec.years)
        return self.store.create_job(
            kind=spec.kind, scenario=pinned.name, goal=spec.goal or scenario.slot.goal, comp=comp.text,
            direction=comp.direction, models=list(spec.models), seed=spec.seed,
            budget=spec.model_dump(include=set(BUDGET), mode="json"), scenario_source=pinned.source,
            scenario_hash=pinned.digest, replay=spec.replay, reference=reference,
            scenario_components=scenario.components,
        )  # fmt: skip

    def check_models(self, models: Iterable[str]) -> None:
        """What can be checked before anything is spent (`check_model`), each model's provider kept for the run."""
        for model in models:
            check_model(self._provider(model), self.prices, model)

    # The three operations

    def advance(self, job_id: int) -> Plan:
        """Starts a pending job, writes its decided matches, ends it when it is over; the plan of what runs now."""
        job = self._job(job_id)
        row = self._row(job_id)
        if row.status == "pending":
            self.store.set_job_status(job_id, "running", expected="pending")
        current = self.plan(job_id)
        if current.phase != row.phase:
            self.store.set_job_phase(job_id, current.phase)
        known = {(m.round, m.challenger, m.defender) for m in self.store.matches(job_id)} if current.matches else set()
        for match in current.matches:
            if (match.round, match.challenger, match.defender) not in known:
                self.store.add_match(job_id=job_id, seeds=job.spec.seeds, **asdict(match))
        if row.status not in LIVE:
            return _nothing(current)
        retired = self._retired(job_id)
        if job.spec.kind == "tournament" and len(job.spec.models) - len(retired) < 2:
            why = "; ".join(f"{model} retired: {reason}" for model, (_, reason) in retired.items())
            self.store.set_job_status(
                job_id, "failed", expected="running", error=f"fewer than two models remain ({why})"
            )
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
        """Where the job stands, from its stored candidates (nothing is written).

        The candidates of finished phases never change, so they are read once: each call reads only the rows of
        the phase under way (and any later), and what planning needs of them (no code, prompt or reply text).
        """
        job = self._job(job_id)
        spec = job.spec
        done, kept = self._planned.get(job_id, (0, ()))
        rows = (*kept, *self.store.plan_rows(job_id, since_phase=done))
        retired = {model: phase for model, (phase, _) in self._retired(job_id).items()}
        markets = self.store.market_keys(job_id) if spec.arena and spec.kind == "tournament" else ()
        current = plan(
            job_id=job_id, kind=spec.kind, models=spec.models, comp=job.comp, seed=spec.seed, attempts=spec.attempts,
            length=spec.length, candidates=rows, retired=retired, seats=job.seats, markets=markets,
        )  # fmt: skip
        self._planned[job_id] = (current.phase, tuple(row for row in rows if row.generation < current.phase))
        return current

    def propose(self, step: Step) -> None:
        """Asks the step's model for code, once: the reply is cached; a failed call is stored as the try, unless
        the model cannot be used at all: then a job fails (the error is raised) and a tournament retires it. A
        market asks no model."""
        job = self._job(step.job_id)
        if step.op == "market" or self.store.candidate_id(step.key) is not None:
            return
        request, digest = self._request(step)
        if self.store.cached_reply(step.key, digest) is not None:
            return
        keyed = {
            "job_id": step.job_id,
            "key": step.key,
            "model_id": step.model,
            "prompt_hash": digest,
            "seed": step.seed,
        }
        replayed = job.spec.replay and self.store.replayable_reply(job.spec.replay, step.model, digest, step.seed)
        if replayed:
            self.store.cache_reply(
                **keyed, text=replayed.text, op=replayed.op, tokens_in=0, tokens_out=0, latency_ms=0.0, requests=0,
                replayed_from=job.spec.replay,
            )  # fmt: skip
            return
        limit = job.spec.max_cost
        if limit is not None and self.store.spent(step.job_id) >= limit:
            return  # the budget is spent: `advance` stops the job
        try:
            with self.limiter.slot(step.model):
                reply = self._provider(step.model).propose(request)
        except ProviderError as exc:
            if exc.fatal and job.spec.kind == "tournament":
                self.store.retire(step.job_id, step.model, step.phase, str(exc))  # the others go on
                return
            if exc.fatal:
                raise  # the job fails: `evolver resume ID` continues it once the model is fixed
            failure = {"op": step.op, "code": "", "status": "provider_error", "error": str(exc)}
            self._store(step, failure | {"prompt": list(request.messages)}, None)
            return
        self.store.cache_reply(
            **keyed, text=reply.text, op=reply.op, tokens_in=reply.tokens_in, tokens_out=reply.tokens_out,
            latency_ms=reply.latency_ms, requests=reply.requests,
        )  # fmt: skip

    def evaluate(self, step: Step) -> int | None:
        """Evaluates the cached reply's code on the training seeds, then (if it ran ok) on the held-out seeds, and
        stores the step's candidate with both evaluations; its id (None: no reply to score). In an arena a try with
        a target also plays against it, and improves only by outscoring it in the same runs. A market is played
        and stored as such (None)."""
        job = self._job(step.job_id)
        if step.op == "market":
            self._market(step)
            return None
        found = self.store.candidate_id(step.key)
        if found is not None:
            return found
        request, digest = self._request(step)
        reply = self.store.cached_reply(step.key, digest)
        if reply is None:
            return None
        price = 0.0 if reply.replayed_from else cost(step.model, reply.tokens_in, reply.tokens_out, self.prices)
        spend = {
            "op": reply.op or step.op, "prompt": list(request.messages), "reply": reply.text,
            "tokens_in": reply.tokens_in, "tokens_out": reply.tokens_out, "cost": price, "latency_ms": reply.latency_ms,
            "replayed_from": reply.replayed_from,
        }  # fmt: skip
        shown = request.context
        try:
            extracted = extract_edit(reply.text, shown.target_code if shown.parent_code is None else shown.parent_code)
        except NoCode as exc:
            return self._store(step, spend | {"code": exc.code or "", "status": "no_code", "error": str(exc),
                                              "error_line": exc.line}, None, edit=exc.edit)  # fmt: skip
        code, edit = extracted.code, extracted.edit
        spec = job.spec
        if self.evaluator is None:
            raise EvolverError("this engine has no sandbox to evaluate in (give it a sandbox.SandboxPool)")
        evaluation = self.evaluator.evaluate(code, job.ref, spec.seeds, spec.years, feedback=True)
        if not evaluation.ok:
            failure = {"code": code, "status": evaluation.status.value, "error": evaluation.error,
                       "error_line": evaluation.line}  # fmt: skip
            return self._store(step, spend | failure, evaluation, edit=edit)
        reference = self.store.candidate(step.reference_id) if step.reference_id else None
        improved = reference is None or job.comp.compare(reference.metrics, evaluation.metrics) == IMPROVED
        fields = {"code": code, "status": "ok", "score": job.comp.score(evaluation.metrics),
                  "metrics": evaluation.metrics, "improved": improved}  # fmt: skip
        if job.seats > 1 and step.target_id is not None:
            fields |= self._versus(job, code, step.target_id)
        heldout = self.evaluator.evaluate(code, job.ref, spec.heldout, spec.years) if spec.heldout else None
        if heldout is not None:  # after every choice above: nothing of it is compared, ranked or shown to a model
            fields |= {"heldout_status": heldout.status.value,
                       "heldout_score": job.comp.score(heldout.metrics) if heldout.ok else None}  # fmt: skip
        return self._store(step, spend | fields, evaluation, heldout, edit=edit)

    def _versus(self, job: _Job, code: str, target_id: int) -> dict[str, Any]:
        """An arena try against its target, head to head on the training seeds: both scores, and whether the try
        outscored the target (a target failing where the try does not is outscored)."""
        target = self.store.candidate(target_id)
        assert target is not None and self.evaluator is not None
        spec = job.spec
        mine, theirs = self.evaluator.evaluate_match([code, target.code], job.ref, spec.seeds, spec.years).seats
        won = mine.ok and (not theirs.ok or job.comp.compare(theirs.metrics, mine.metrics) == IMPROVED)
        return {
            "improved": won,
            "versus_score": job.comp.score(mine.metrics) if mine.ok else None,
            "versus_target_score": job.comp.score(theirs.metrics) if theirs.ok else None,
        }

    def _market(self, step: Step) -> None:
        """Plays a round's market (the champions in one simulation per training seed) and stores it, once."""
        if step.key in self.store.market_keys(step.job_id):
            return
        job = self._job(step.job_id)
        if self.evaluator is None:
            raise EvolverError("this engine has no sandbox to evaluate in (give it a sandbox.SandboxPool)")
        champions = [self.store.candidate(candidate_id) for candidate_id in step.players]
        codes = [champion.code for champion in champions if champion is not None]
        spec, comp = job.spec, job.comp
        seats = self.evaluator.evaluate_match(codes, job.ref, spec.seeds, spec.years).seats
        self.store.add_market(
            key=step.key, job_id=step.job_id, round=round_of(step.phase, arena=True),
            models=[champion.model_id for champion in champions if champion is not None],
            candidate_ids=list(step.players), seeds=list(spec.seeds or ()),
            statuses=[seat.status.value for seat in seats],
            scores=[comp.score(seat.metrics) if seat.ok else None for seat in seats],
            per_seed=[[comp.score(metrics) for metrics in seat.per_seed] if seat.ok else [None] * len(seat.seeds)
                      for seat in seats],
        )  # fmt: skip

    # The in-process executor

    def run(self, job_id: int, on_progress: Callable[[Progress], None] | None = None) -> str:
        """Runs the job here to its end; returns how it ended.

        A phase's steps are independent: they run side by side, as many at once as the evaluator has workers.
        An error marks the job failed. An interruption (KeyboardInterrupt, Interrupted) marks it `interrupted`,
        drops the steps not started and gives those under way INTERRUPT_GRACE seconds to be stored; then it is
        raised (threads "evolver-step-*" still alive are steps that did not finish in time).
        """
        executor = ThreadPoolExecutor(getattr(self.evaluator, "workers", 1), thread_name_prefix="evolver-step")
        running: list[Future[int | None]] = []
        try:
            while steps := self.advance(job_id).steps:
                running = [executor.submit(self._step, step) for step in steps]
                for future in running:
                    candidate_id = future.result()
                    if on_progress is not None and candidate_id is not None:
                        on_progress(self.progress(job_id, candidate_id))
        except BaseException as exc:
            stopped = isinstance(exc, KeyboardInterrupt | Interrupted)
            if stopped:
                interrupted(self.store, job_id, exc)
            else:
                self.fail(job_id, exc)
            executor.shutdown(wait=False, cancel_futures=True)
            _, unfinished = wait(running, timeout=INTERRUPT_GRACE if stopped else None)
            if not unfinished:
                executor.shutdown()  # the idle threads end now: none is left to hold the process
            raise
        executor.shutdown()
        return self._status(job_id)

    def execute(self, spec: JobSpec, on_progress: Callable[[Progress], None] | None = None) -> int:
        """Submits the spec and runs it here to its end; returns the job's id (its row says how it ended)."""
        job_id = self.submit(spec)
        self.run(job_id, on_progress)
        return job_id

    def resume(self, job_id: int) -> None:
        """Makes a stopped run (failed, interrupted, or running with nobody left on it) runnable again, once its
        models pass the checks of a submit."""
        status = self._status(job_id)
        if status in ("done", "stopped"):
            raise JobError(f"job {job_id} is {status}: there is nothing left to resume")
        spec = self._job(job_id).spec
        retired = self.store.retired(job_id)
        self.check_models(model for model in spec.models if model not in retired)
        self.store.set_job_status(job_id, "running", expected=("failed", "interrupted"))

    def fail(self, job_id: int, exc: BaseException) -> None:
        """Marks a running job failed with the error (a resume picks it up again)."""
        error = str(exc) if isinstance(exc, ProviderError) else f"{type(exc).__name__}: {exc}"
        self.store.set_job_status(job_id, "failed", expected="running", error=error)

    def progress(self, job_id: int, candidate_id: int) -> Progress:
        """The candidate and every model's standing, for a live view."""
        job = self._job(job_id)
        candidate = self.store.candidate(candidate_id)
        assert candidate is not None
        standings = self.store.standings(job_id, job.comp.direction, job.spec.models)
        return Progress(job_id, candidate.generation, job.spec.phases, candidate, tuple(standings))

    # Helpers

    def _step(self, step: Step) -> int | None:
        self.propose(step)
        return self.evaluate(step)

    def _job(self, job_id: int) -> _Job:
        if job_id not in self._jobs:
            row = self._row(job_id)
            ref = job_scenario(row)
            scenario = check_components(row, load_scenario(ref))
            self._jobs[job_id] = _Job(row, JobSpec.from_row(row), ref, scenario, parse_comp(row.comp, scenario))
        return self._jobs[job_id]

    def _retired(self, job_id: int) -> dict[str, tuple[int, str]]:
        """The job's retired models: only a tournament retires one (a job fails instead)."""
        return self.store.retired(job_id) if self._job(job_id).spec.kind == "tournament" else {}

    def _row(self, job_id: int) -> JobRow:
        row = self.store.job(job_id)
        if row is None:
            raise JobError(f"no job {job_id}; `evolver jobs` lists them")
        return row

    def _status(self, job_id: int) -> str:
        return self._row(job_id).status

    def _provider(self, model: str) -> Provider:
        if model not in self._providers:
            self._providers[model] = get_provider(model, self.settings)
        return self._providers[model]

    def _request(self, step: Step) -> tuple[ProposalRequest, str]:
        """The step's request and its hash, built once per process for `propose` and `evaluate` (it reads only
        finished phases and the step's own parent and target, which never change)."""
        if step.key not in self._requests:
            self._requests[step.key] = self._build_request(step)
        return self._requests[step.key]

    def _build_request(self, step: Step) -> tuple[ProposalRequest, str]:
        """The step's request and its hash (messages and structured context: what any provider reads). The context
        has the parent's training results and feedback, and the step's inspirations (code and training score); a
        repair of a failed diff asks for the whole code."""
        job = self._job(step.job_id)
        parent = self.store.candidate(step.parent_id) if step.parent_id else None
        target = self.store.candidate(step.target_id) if step.target_id else None
        repairing = step.op == "repair" and parent is not None
        trained = self._training(parent.id) if parent and not repairing else None
        inspirations = [self.store.candidate(candidate_id) for candidate_id in step.inspirations]
        context = context_for(
            job.scenario,
            parent=(parent.code, None if repairing else parent.score) if parent else None,
            target=(target.code, target.score) if target else None,
            error=(parent.error or parent.status) if repairing else None,
            error_line=parent.error_line if repairing else None,
            parent_seeds=list(zip(trained.seeds, trained.per_seed, strict=True)) if trained else (),
            parent_feedback=trained.feedback if trained else None,
            inspirations=[(other.code, other.score) for other in inspirations if other is not None],
            diffs=not (repairing and _failed_diff(parent)),
            trials=self._trials(step, parent) if parent and not repairing else (),
        )
        messages = render(step.op, job.scenario, context, goal=job.spec.goal, comp=job.comp.text)
        request = ProposalRequest(step.op, messages, context, seed=step.seed)
        payload = {"op": step.op, "messages": messages, "context": asdict(context), "seed": step.seed}
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=list).encode()).hexdigest()
        return request, digest

    def _trials(self, step: Step, parent: CandidateRow) -> tuple[Trial, ...]:
        """The trials of the parent's skeleton (evolver/tuning.py): the parameters and training scores of the step's
        model's candidates with that skeleton, of the phases before the step's, in a fixed order."""
        if parent.skeleton is None:
            return ()
        trials = self.store.trials(step.job_id, step.model, parent.skeleton, step.phase)
        return tuple((self._values(candidate_id, code), score) for candidate_id, code, score in trials)

    def _values(self, candidate_id: int, code: str) -> tuple[float, ...]:
        """A stored candidate's parameters (its code parsed once per process)."""
        if candidate_id not in self._parameters:
            self._parameters[candidate_id] = values(parse(code))
        return self._parameters[candidate_id]

    def _training(self, candidate_id: int) -> EvaluationRow | None:
        """A candidate's evaluation on the training seeds, if it ran ok (its held-out one is never read here)."""
        trained = [row for row in self.store.evaluations(candidate_id) if not row.heldout and row.status == "ok"]
        return trained[0] if trained else None

    def _store(
        self, step: Step, fields: dict, evaluation: Evaluation | None, heldout: Evaluation | None = None,
        edit: str | None = None,
    ) -> int:  # fmt: skip
        """Writes the step's candidate with its training evaluation and its held-out one (one transaction, once),
        and what the step chose: its parent, target, inspirations and why, and how the reply edited the code
        (`edit`: "diff", "rewrite", None for no reply)."""
        self._requests.pop(step.key, None)
        spec = self._job(step.job_id).spec
        rows = [_evaluation_row(evaluation, spec.seeds or (), spec.years, fields.get("score"))] if evaluation else []
        if heldout is not None:
            rows.append(_evaluation_row(heldout, spec.heldout or (), spec.years, fields["heldout_score"], heldout=True))
        choice = {"parent": step.parent_id, "target": step.target_id, "inspirations": list(step.inspirations),
                  "why": step.why, "edit": edit}  # fmt: skip
        return self.store.add_candidate(
            key=step.key, job_id=step.job_id, model_id=step.model, generation=step.phase,
            parent_id=step.parent_id, target_id=step.target_id, choice=choice, skeleton=_skeleton(fields["code"]),
            evaluations=rows, **fields,
        )  # fmt: skip


def check_model(provider: Provider, prices: Prices, model: str) -> None:
    """What can be checked of a model before anything is spent: its provider and key (`provider` was built), its
    price (a reply is priced when it is stored, after it was paid for) and its own check (an Ollama host serving it)."""
    prices.price(model)
    provider.check()


def _with_game_seeds(spec: JobSpec, scenario: Scenario) -> JobSpec:
    """The spec with the scenario's game's training and held-out seeds where it names none."""
    game = scenario.game
    assert game is not None
    try:
        return spec.resolved(game.train, game.heldout, arena=scenario.slot is not None and scenario.slot.seats > 1)
    except ValidationError as exc:
        message = exc.errors()[0]["msg"].removeprefix("Value error, ")
        defaults = f"{scenario.name}'s game trains on seeds {list(game.train)} and holds out {list(game.heldout)}"
        raise JobError(f"{message}; {defaults} unless told otherwise") from None


def _evaluation_row(
    evaluation: Evaluation, seeds: Sequence[int], years: float | None, score: float | None, heldout: bool = False
) -> dict[str, Any]:
    """An evaluation as the store's `evaluations` row takes it (a held-out one without its feedback: never shown)."""
    return {
        "seeds": list(seeds), "years": years, "status": evaluation.status.value, "score": score,
        "metrics": evaluation.metrics, "per_seed": evaluation.per_seed, "timings": evaluation.timings,
        "heldout": heldout, "error": evaluation.error, "error_line": evaluation.line,
        "feedback": None if heldout else evaluation.feedback,
    }  # fmt: skip


def _skeleton(code: str) -> str | None:
    """The code's skeleton (evolver/tuning.py), or None when it is not a program that parses."""
    try:
        return skeleton(parse(code)) if code else None
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


def _failed_diff(candidate: CandidateRow | None) -> bool:
    """Whether a candidate's reply was SEARCH/REPLACE blocks that gave no usable code."""
    return candidate is not None and candidate.status == "no_code" and (candidate.choice or {}).get("edit") == "diff"


def _nothing(current: Plan) -> Plan:
    return Plan(current.phase, current.phases, (), current.matches, current.best, current.spent)
