"""Four evolved players share the hidden-bots market: the arena with four seats (player1 to player4)."""

from simcore.scenarios.arena import arena_slot, before, game, graphs, players, vars  # noqa: F401 - scenario parts

slot = arena_slot(4)
