"""A tournament's standings: wins and losses, best score, an Elo rating over its matches, calls and cost.

The rating replays the matches in a fixed order (round, then the models' order in the tournament), never
the order rows were written, so a tournament run in-process and one run by many workers rate alike. In an arena
the matches are each round market's pairs of champions, scored in the same runs, and a Bradley-Terry rating
(openskill) over the markets' rankings stands beside the Elo.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from evolver.store import MarketRow, MatchRow, Store

if TYPE_CHECKING:
    import pandas as pd

START, K = 1500.0, 32.0  # Elo: the starting rating and the update step


def elo(matches: list[MatchRow], models: tuple[str, ...]) -> dict[str, float]:
    """Each model's Elo rating after the matches (a challenger that beat the champion wins the match)."""
    order = {model: index for index, model in enumerate(models)}
    ordered = sorted(matches, key=lambda m: (m.round, order[m.challenger], order[m.defender]))
    return _elo([(m.challenger, m.defender, 1.0 if m.won else 0.0) for m in ordered], models)


def _elo(results: Iterable[tuple[str, str, float]], models: Iterable[str]) -> dict[str, float]:
    """Elo ratings after `(a, b, a's result)` games in order: 1 a win, 0.5 a draw, 0 a loss."""
    rating = dict.fromkeys(models, START)
    for a, b, result in results:
        expected = 1 / (1 + 10 ** ((rating[b] - rating[a]) / 400))
        change = K * (result - expected)
        rating[a], rating[b] = rating[a] + change, rating[b] - change
    return rating


def outcomes(market: MarketRow, direction: str) -> list[tuple[str, str, float]]:
    """A market's head-to-head results, every pair of seats in seat order: `(a, b, a's result)`, from their scores
    in the same runs (a seat that failed loses to one that did not; two that failed draw)."""
    sign = 1 if direction == "max" else -1
    results = []
    for (i, a), (j, b) in itertools.combinations(enumerate(market.models), 2):
        x, y = market.scores[i], market.scores[j]
        if x is None or y is None:
            result = 0.5 if x is y else float(y is None)
        else:
            result = 0.5 if x == y else float(sign * (x - y) > 0)
        results.append((a, b, result))
    return results


def bradley_terry(markets: list[MarketRow], models: tuple[str, ...], direction: str) -> dict[str, float]:
    """Each model's Bradley-Terry rating over the markets in order (openskill's full-pairing model), as its
    ordinal: the mean less three deviations, a rating it has earned with near certainty (0 before any market)."""
    from openskill.models import BradleyTerryFull

    model = BradleyTerryFull()
    ratings = {name: model.rating(name=name) for name in models}
    worst = -math.inf if direction == "max" else math.inf
    for market in markets:
        scores = [worst if x is None else x for x in market.scores]  # a failed seat ranks last
        ranks = [sum(1 for y in scores if (y > x if direction == "max" else y < x)) for x in scores]
        teams = model.rate([[ratings[name]] for name in market.models], ranks=ranks)
        ratings.update({name: team[0] for name, team in zip(market.models, teams, strict=True)})
    return {
        name: (rating.ordinal() if any(name in m.models for m in markets) else 0.0) for name, rating in ratings.items()
    }


def leaderboard(store: Store, job_id: int) -> pd.DataFrame:
    """One row per model, best rated first: rating, wins, losses, matches, best score (on the training seeds), that
    player's held-out score and the gap between the two, calls, cost (USD) and why it was retired (None while it
    plays). In an arena tournament the matches are the round markets' pairs of champions, rated by Elo and by
    Bradley-Terry (`bt`); elsewhere they are the challenges, rated by Elo."""
    import pandas as pd

    job = store.job(job_id)
    assert job is not None
    markets = store.markets(job_id)
    if markets:
        games = [result for market in markets for result in outcomes(market, job.direction)]
        rating, bt = _elo(games, job.models), bradley_terry(markets, job.models, job.direction)
    else:
        matches = store.matches(job_id)
        games = [(m.challenger, m.defender, 1.0 if m.won else 0.0) for m in matches]
        rating, bt = elo(matches, job.models), None
    rows = []
    for standing in store.standings(job_id, job.direction, job.models):
        model = standing.model
        mine = [result if a == model else 1 - result for a, b, result in games if model in (a, b)]
        won, lost = sum(1 for x in mine if x == 1), sum(1 for x in mine if x == 0)
        rows.append({
            "model": model, "rating": round(rating[model], 1), **({"bt": round(bt[model], 2)} if bt else {}),
            "wins": won, "losses": lost, "matches": len(mine), "best": standing.best,
            "best_heldout": standing.best_heldout, "gap": standing.gap, "calls": standing.calls, "cost": standing.cost,
            "retired": standing.retired,
        })  # fmt: skip
    frame = pd.DataFrame(rows)
    return frame.sort_values(["rating", "wins"], ascending=False, kind="stable").reset_index(drop=True)
