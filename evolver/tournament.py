"""A tournament's standings: wins and losses, best score, an Elo rating over its matches, calls and cost.

The rating replays the matches in a fixed order (round, then the models' order in the tournament), never
the order rows were written, so a tournament run in-process and one run by many workers rate alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evolver.store import MatchRow, Store

if TYPE_CHECKING:
    import pandas as pd

START, K = 1500.0, 32.0  # Elo: the starting rating and the update step


def elo(matches: list[MatchRow], models: tuple[str, ...]) -> dict[str, float]:
    """Each model's Elo rating after the matches (a challenger that beat the champion wins the match)."""
    rating = dict.fromkeys(models, START)
    order = {model: index for index, model in enumerate(models)}
    for match in sorted(matches, key=lambda m: (m.round, order[m.challenger], order[m.defender])):
        a, b = rating[match.challenger], rating[match.defender]
        expected = 1 / (1 + 10 ** ((b - a) / 400))
        change = K * ((1.0 if match.won else 0.0) - expected)
        rating[match.challenger], rating[match.defender] = a + change, b - change
    return rating


def leaderboard(store: Store, job_id: int) -> pd.DataFrame:
    """One row per model, best rated first: rating, wins, losses, matches, best score (on the training seeds), that
    player's held-out score and the gap between the two, calls, cost (USD) and why it was retired (None while it
    plays)."""
    import pandas as pd

    job = store.job(job_id)
    assert job is not None
    matches = store.matches(job_id)
    rating = elo(matches, job.models)
    rows = []
    for standing in store.standings(job_id, job.direction, job.models):
        model = standing.model
        won = sum(1 for m in matches if (m.challenger == model) == m.won and model in (m.challenger, m.defender))
        played = sum(1 for m in matches if model in (m.challenger, m.defender))
        rows.append({
            "model": model, "rating": round(rating[model], 1), "wins": won, "losses": played - won,
            "matches": played, "best": standing.best, "best_heldout": standing.best_heldout, "gap": standing.gap,
            "calls": standing.calls, "cost": standing.cost, "retired": standing.retired,
        })  # fmt: skip
    frame = pd.DataFrame(rows)
    return frame.sort_values(["rating", "wins"], ascending=False, kind="stable").reset_index(drop=True)
