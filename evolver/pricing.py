"""What a model call cost in USD, from a price table users edit (`prices.toml`, or EVOLVER_PRICES_PATH).

The table maps model ids or glob patterns to USD per million input and output tokens:
`"openai:gpt-4o" = { input = 2.50, output = 10.00 }`. A model id takes its exact entry, else the longest
pattern that matches it (`"anthropic:claude-sonnet-4-5*"` before `"anthropic:*"`). A model with no entry
is an error, not free: a budget in USD must never be spent on a guess of zero.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from evolver.errors import EvolverError

PER_TOKENS = 1_000_000


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float


@dataclass(frozen=True)
class Prices:
    """A price table and where it came from (named in errors)."""

    table: Mapping[str, Price]
    source: str

    def price(self, model_id: str) -> Price:
        """The exact entry for `model_id`, else the longest matching pattern; EvolverError when none matches."""
        if model_id in self.table:
            return self.table[model_id]
        patterns = [key for key in self.table if fnmatchcase(model_id, key)]
        if not patterns:
            provider = model_id.partition(":")[0]
            raise EvolverError(
                f"no price for {model_id} in {self.source}: add "
                f'"{model_id}" = {{ input = ..., output = ... }} (USD per million tokens) or a "{provider}:*" default'
            )
        return self.table[max(patterns, key=len)]


def cost(model_id: str, tokens_in: int, tokens_out: int, prices: Prices) -> float:
    """USD for one call of `model_id` that read `tokens_in` and wrote `tokens_out` tokens."""
    price = prices.price(model_id)
    return (tokens_in * price.input + tokens_out * price.output) / PER_TOKENS


def load_prices(path: Path | str) -> Prices:
    """Read a price table; EvolverError naming the file and the entry when it is missing or malformed."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise EvolverError(f"cannot read the price table {path}: {exc.strerror}; set EVOLVER_PRICES_PATH") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise EvolverError(f"the price table {path} is not valid TOML: {exc}") from None
    return Prices({key: _price(key, entry, path) for key, entry in data.items()}, str(path))


def _price(key: str, entry: object, path: Path) -> Price:
    example = f'"{key}" = {{ input = 2.5, output = 10.0 }}'
    if ":" not in key:
        raise EvolverError(f'{path}: {key!r} is not a model id or pattern like "openai:gpt-4o" or "openai:*"')
    if not isinstance(entry, dict) or set(entry) != {"input", "output"}:
        raise EvolverError(f"{path}: {key!r} needs exactly input and output, in USD per million tokens: {example}")
    for side in ("input", "output"):
        value = entry[side]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise EvolverError(f"{path}: {key!r} {side} must be a number of USD >= 0, not {value!r}: {example}")
    return Price(float(entry["input"]), float(entry["output"]))
