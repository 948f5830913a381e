"""One interface for every model provider: a ProposalRequest in, a Reply out.

LLM providers read the rendered `messages`; the offline generators read the structured `context`. A
provider never parses code or touches the store: the caller extracts the code and records the call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

OPS = ("init", "improve", "beat", "repair")


@dataclass(frozen=True)
class ProposalContext:
    """What a generator may know: the scenario's slot and the code and results it should build on."""

    scenario: str
    goal: str
    comp: str
    direction: str  # "max" | "min"
    observables: tuple[str, ...]  # keys of the player's `v`: observations, variables, "wallet"
    actions: dict[str, tuple[str, ...]]  # plugin key -> the actions the player may call, e.g. {"dex": ("buyA",)}
    wallet: dict[str, float]  # starting balances by ticker
    max_actions_per_day: int = 10
    days: int = 365  # the run's last day (the player's `i` runs 1..days)
    observed: tuple[str, ...] = ()  # the slot's own observations that are not a plugin's state (a pool's reserves)
    kinds: dict[str, str] = field(default_factory=dict)  # plugin key -> its type ("dex", ...), for the actions' plugins
    tickers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # plugin key -> its market's tickers
    trials: tuple[tuple[tuple[float, ...], float], ...] = ()  # the parent's skeleton's trials (evolver/tuning.py)
    parent_code: str | None = None  # improve / repair: the player to start from
    parent_score: float | None = None
    target_code: str | None = None  # beat: the player to beat
    target_score: float | None = None
    error: str | None = None  # repair: what went wrong with the parent
    error_line: int | None = None
    parent_seeds: tuple[tuple[int, dict[str, float]], ...] = ()  # the parent's metrics on each training seed
    # what the parent's training runs showed (simcore.feedback): refusals by reason, its first seed's run in periods
    parent_feedback: dict[str, Any] | None = None
    inspirations: tuple[tuple[str, float | None], ...] = ()  # other players from the archive: code, training score
    diffs: bool = False  # whether the reply may edit the code shown (parent, else target) by SEARCH/REPLACE blocks


@dataclass(frozen=True)
class ProposalRequest:
    """One call: the op, the rendered chat messages, the structured context, and a seed for reproducibility."""

    op: str  # one of OPS
    messages: tuple[dict[str, str], ...]  # {"role": "system" | "user" | "assistant", "content": ...}
    context: ProposalContext
    seed: int = 0
    max_tokens: int = 2000
    temperature: float = 0.7


@dataclass(frozen=True)
class Reply:
    """What a provider answered: its text (code is extracted from it later) and what the call cost."""

    text: str
    model: str  # the model id, `provider:model`
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    requests: int = 1  # HTTP requests made, retries included
    op: str | None = None  # set by generators that choose their own op (`mutate`, `crossover`)
    raw: dict[str, Any] = field(default_factory=dict)  # provider-specific extras (finish reason, ...), no secrets


class Provider(Protocol):
    """A model behind one call. Implementations: openai, anthropic, ollama, local (gp and random)."""

    model_id: str

    def check(self) -> None:
        """Raises a fatal ProviderError when the model cannot be used at all; cheap, spends nothing.

        Ollama lists its host's models; the others have nothing to check for free and return at once.
        """
        ...

    def propose(self, request: ProposalRequest) -> Reply:
        """One answer; raises ProviderError when the call fails for good (after the retry layer), `fatal` when
        the model cannot be used at all (a wrong key, an unknown model, no server)."""
        ...
