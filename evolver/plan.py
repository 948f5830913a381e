"""What a job or a tournament does next, worked out from the candidates the store holds.

A run is a list of *phases*; a phase is a set of independent *turns* (a model's turn, or a challenger's turn
against one defender); a turn is up to `attempts` *tries*, each depending on the one before: a try whose code
fails is repaired by the next, and a try that reaches the turn's goal ends the turn. Every try has a key
(`job:phase:label:attempt`) and a seed derived from it, so the same spec always asks the same questions.

`plan` replays the stored candidates through this structure in a fixed order (never the order rows were
written, which differs between workers) and returns the tries of the first unfinished phase. Those tries are
independent: any executor may run them in any order, in parallel, or twice. What a phase builds on (each
model's best) changes only between phases. That is the whole of resuming: what is stored is not redone.

- A job (`evolve`): one phase per generation; every model takes a turn: `init` without a player, `beat`
  when another model leads (the target is the leader's best), `improve` otherwise.
- A tournament: phase 0 is every model's `init`; each round then has a phase in which every model tries to
  beat every other model's champion (a match each), and a phase in which every model improves its own.
- A tournament in an arena (a slot of several seats) plays each round's challenges head to head (a beat must
  outscore its target in the same runs: the engine plays them against each other), and ends each round with a
  third phase: the *market*, the models' champions trading in one simulation (every group of as many as there
  are seats, when there are more models than seats; the empty seats play the game's house player). A market is a
  step with no model call.
"""

from __future__ import annotations

import itertools
import random
import zlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from evolver.comp import IMPROVED, Comp
from evolver.selection import Archive, choose
from evolver.store import PlanRow


@dataclass(frozen=True)
class Player:
    """A candidate that evaluated ok: what later turns build on."""

    id: int
    model: str
    metrics: dict[str, Any]
    score: float


@dataclass(frozen=True)
class Step:
    """One try, as plain data an executor can queue: what to ask which model, and what the answer is measured by."""

    key: str
    job_id: int
    phase: int  # stored as the candidate's generation
    model: str  # "" for a market
    op: str  # init | improve | beat | repair | market
    attempt: int
    seed: int
    parent_id: int | None  # the code to start from: the model's best, or the failed try a repair mends
    target_id: int | None  # beat: the champion to beat
    reference_id: int | None  # what the try must improve on: the target, else the turn's parent
    players: tuple[int, ...] = ()  # a market: the champions' candidate ids, in seat order
    inspirations: tuple[int, ...] = ()  # other players shown with the parent (candidate ids, from the archive)
    why: str = ""  # why the selection policy chose this parent and these inspirations (stored with the try)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MatchResult:
    """A finished beat turn of a tournament."""

    round: int
    challenger: str
    defender: str
    challenger_candidate_id: int | None
    defender_candidate_id: int
    challenger_score: float | None
    defender_score: float
    won: bool


@dataclass(frozen=True)
class Plan:
    """Where a run stands: the tries to run now (empty when `finished`), the matches decided, each model's best."""

    phase: int
    phases: int
    steps: tuple[Step, ...]
    matches: tuple[MatchResult, ...]
    best: dict[str, Player]
    spent: float  # USD so far

    @property
    def finished(self) -> bool:
        return not self.steps


@dataclass(frozen=True)
class _Turn:
    model: str
    op: str
    parent: Player | None
    target: Player | None
    label: str  # the model, or `challenger>defender`
    round: int | None = None  # a tournament's beat turns: the round of their match
    inspirations: tuple[int, ...] = ()
    why: str = ""


def plan(
    *,
    job_id: int,
    kind: str,
    models: Sequence[str],
    comp: Comp,
    seed: int,
    attempts: int,
    length: int,
    candidates: Iterable[PlanRow],
    retired: Mapping[str, int] | None = None,
    seats: int = 1,
    markets: Collection[str] = (),
) -> Plan:
    """The next tries of a run of `kind` ("evolve": `length` generations; "tournament": `length` rounds).

    A model in `retired` (model -> phase) takes no new try from that phase on; its stored tries still count.
    `seats` is the slot's; `markets` the keys of the markets stored (an arena tournament's).
    """
    retired = retired or {}
    rows = list(candidates)
    by_key = {row.key: row for row in rows}
    spent = sum(row.cost for row in rows)
    best: dict[str, Player] = {}
    archives: dict[str, Archive] = {}
    matches: list[MatchResult] = []
    arena = kind == "tournament" and seats > 1
    phases = length if kind == "evolve" else 1 + (3 if arena else 2) * length
    for phase in range(phases):
        if arena and phase and phase % 3 == 0:  # a round's market: the champions of the models still playing
            playing = [model for model in models if model in best and retired.get(model, phases) > phase]
            pending = [step for step in _markets(job_id, phase, playing, best, seats) if step.key not in markets]
            if pending:
                return Plan(phase, phases, tuple(pending), tuple(matches), best, spent)
            continue
        steps: list[Step] = []
        finished: list[tuple[_Turn, list[PlanRow]]] = []
        for turn in _turns(kind, phase, models, best, comp, arena):
            gone = retired.get(turn.model, phases)
            if gone < phase:
                continue
            tries, step = _replay(turn, job_id, phase, seed, attempts, by_key)
            if step is not None and gone > phase:  # only a try to make needs its parent chosen
                chosen = _replay(_chosen(turn, archives, seed, phase), job_id, phase, seed, attempts, by_key)[1]
                assert chosen is not None
                steps.append(chosen)
            else:
                finished.append((turn, tries))
        for turn, tries in finished:
            if turn.round is not None and turn.target is not None:
                matches.append(_match(turn, tries, comp))
        if steps:
            return Plan(phase, phases, tuple(steps), tuple(matches), best, spent)
        for _turn, tries in finished:  # the phase is over: what the next one builds on
            for row in tries:
                _keep_best(best, row, comp)
                if row.status == "ok" and row.score is not None:
                    archives.setdefault(row.model_id, Archive(comp)).add(_player(row))
    return Plan(phases, phases, (), tuple(matches), best, spent)


def round_of(phase: int, arena: bool) -> int:
    """The round a tournament's phase belongs to (0: the init phase)."""
    return (phase + 2) // 3 if arena else (phase + 1) // 2


def _markets(job_id: int, phase: int, playing: Sequence[str], best: dict[str, Player], seats: int) -> list[Step]:
    """A round's markets: the champions all in one when they fit its seats, else every group of `seats` of them."""
    if len(playing) < 2:
        return []
    groups = [tuple(playing)] if len(playing) <= seats else list(itertools.combinations(playing, seats))
    steps = []
    for group in groups:
        label = "+".join(group)
        steps.append(Step(
            key=f"{job_id}:{phase}:market:{label}", job_id=job_id, phase=phase, model="", op="market", attempt=0,
            seed=zlib.crc32(f"{label}:{phase}".encode()), parent_id=None, target_id=None, reference_id=None,
            players=tuple(best[model].id for model in group),
        ))  # fmt: skip
    return steps


def _turns(
    kind: str, phase: int, models: Sequence[str], best: dict[str, Player], comp: Comp, arena: bool = False
) -> list[_Turn]:
    if kind == "evolve":
        return [_evolve_turn(model, models, best, comp) for model in models]
    if phase == 0:
        return [_Turn(model, "init", None, None, model) for model in models]
    if phase % (3 if arena else 2) == 1:  # a round's challenges: every model against every other model's champion
        round_ = round_of(phase, arena)
        return [
            _Turn(challenger, "beat", best.get(challenger), best[defender], f"{challenger}>{defender}", round_)
            for challenger in models
            for defender in models
            if defender != challenger and defender in best
        ]
    return [_own_turn(model, best) for model in models]


def _evolve_turn(model: str, models: Sequence[str], best: dict[str, Player], comp: Comp) -> _Turn:
    own, leader = best.get(model), _leader(models, best, comp)
    if own is None:
        return _Turn(model, "init", None, None, model)
    if leader is not None and leader.model != model and comp.compare(own.metrics, leader.metrics) == IMPROVED:
        return _Turn(model, "beat", own, leader, model)
    return _Turn(model, "improve", own, None, model)


def _own_turn(model: str, best: dict[str, Player]) -> _Turn:
    own = best.get(model)
    return _Turn(model, "improve" if own else "init", own, None, model)


def _leader(models: Sequence[str], best: dict[str, Player], comp: Comp) -> Player | None:
    """The best player of all models (the earliest model's on a tie), or None before any."""
    players = [best[model] for model in models if model in best]
    unbeaten = (p for p in players if all(comp.compare(p.metrics, q.metrics) != IMPROVED for q in players))
    return next(unbeaten, None)


def _replay(
    turn: _Turn, job_id: int, phase: int, seed: int, attempts: int, by_key: dict[str, PlanRow]
) -> tuple[list[PlanRow], Step | None]:
    """The turn's stored tries, and its next try (None when the turn is over)."""
    tries: list[PlanRow] = []
    failed: PlanRow | None = None  # the last try whose code failed: the next one repairs it
    reference = turn.target or turn.parent
    for attempt in range(attempts):
        key = f"{job_id}:{phase}:{turn.label}:{attempt}"
        row = by_key.get(key)
        if row is None:
            parent = failed.id if failed else (turn.parent.id if turn.parent else None)
            return tries, Step(
                key=key, job_id=job_id, phase=phase, model=turn.model, op="repair" if failed else turn.op,
                attempt=attempt, seed=zlib.crc32(f"{seed}:{turn.label}:{phase}:{attempt}".encode()),
                parent_id=parent, target_id=turn.target.id if turn.target else None,
                reference_id=reference.id if reference else None,
                inspirations=() if failed else turn.inspirations,
                why="a repair of the failed try" if failed else turn.why,
            )  # fmt: skip
        tries.append(row)
        if row.status == "ok":
            if row.improved:
                break
            failed = None
        elif row.has_code:
            failed = row
    return tries, None


def _keep_best(best: dict[str, Player], row: PlanRow, comp: Comp) -> None:
    if row.status != "ok" or row.score is None:
        return
    own = best.get(row.model_id)
    if own is None or comp.compare(own.metrics, row.metrics) == IMPROVED:
        best[row.model_id] = _player(row)


def _player(row: PlanRow) -> Player:
    assert row.score is not None
    return Player(row.id, row.model_id, row.metrics, row.score)


def _chosen(turn: _Turn, archives: dict[str, Archive], seed: int, phase: int) -> _Turn:
    """The turn with its parent and inspirations chosen by the selection policy from the model's archive (an init
    has none; a beat keeps the model's best as its parent)."""
    if turn.op == "init":
        return turn
    rng = random.Random(zlib.crc32(f"{seed}:{turn.label}:{phase}:choice".encode()))
    choice = choose(archives.get(turn.model), turn.parent, rng, explore=turn.op != "beat")
    return replace(turn, parent=choice.parent, inspirations=choice.inspirations, why=choice.why)


def _match(turn: _Turn, tries: list[PlanRow], comp: Comp) -> MatchResult:
    assert turn.target is not None and turn.round is not None
    ok = [row for row in tries if row.status == "ok" and row.score is not None]
    top: PlanRow | None = None
    for row in ok:
        if top is None or comp.compare(top.metrics, row.metrics) == IMPROVED:
            top = row
    won = next((row for row in ok if row.improved), None)
    if won is not None and won.versus_score is not None:  # an arena's: the try that outscored its target, head to head
        top = won
    versus = top is not None and top.versus_score is not None
    return MatchResult(
        round=turn.round, challenger=turn.model, defender=turn.target.model,
        challenger_candidate_id=top.id if top else None, defender_candidate_id=turn.target.id,
        challenger_score=(top.versus_score if versus else top.score) if top else None,
        defender_score=top.versus_target_score if versus and top.versus_target_score is not None else turn.target.score,
        won=won is not None,
    )  # fmt: skip
