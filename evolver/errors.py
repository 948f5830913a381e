"""The evolver's exception families, each mapped to a clean CLI message (and, later, an HTTP status)."""


class EvolverError(Exception):
    """Base of the evolver's errors: the message says what was wrong and how to fix it."""


class ProviderError(EvolverError):
    """A model provider failed: unknown model id, missing key, or a call that failed after its retries."""


class StoreError(EvolverError):
    """The lineage store cannot be reached or refused a write; the message names the database URL (no secret)."""


class NoCode(EvolverError):  # noqa: N818 - named for what it means, like simcore.InvalidAction
    """A model's reply held no usable code; the reason is stored with the failed candidate.

    `code` is the code the reply did hold when it failed the checks (e.g. a syntax error at `line`), so it can
    be stored and repaired; None when the reply held no code at all.
    """

    def __init__(self, reason: str, code: str | None = None, line: int | None = None) -> None:
        super().__init__(reason)
        self.code, self.line = code, line
