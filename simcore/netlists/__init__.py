"""Built-in netlists: TokenSPICE models rebuilt on `simcore.agents`, each checked against TokenSPICE's own runs."""

from simcore.netlists.wsloop import Wsloop, WsloopStrategy, run_wsloop

__all__ = ["Wsloop", "WsloopStrategy", "run_wsloop"]
