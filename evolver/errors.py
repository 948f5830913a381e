"""The evolver's exception families, each mapped to a clean CLI message (and, later, an HTTP status)."""


class EvolverError(Exception):
    """Base of the evolver's errors: the message says what was wrong and how to fix it."""


class ProviderError(EvolverError):
    """A model provider failed: unknown model id, missing key, or a call that failed after its retries.

    `fatal` when the model cannot be used at all (no key or a wrong one, an unknown model, no server at the
    address): asking it again fails the same way until the setting the message names is fixed.
    """

    def __init__(self, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal


class StoreError(EvolverError):
    """The lineage store cannot be reached or refused a write; the message names the database URL (no secret)."""


class NoCode(EvolverError):  # noqa: N818 - named for what it means, like simcore.InvalidAction
    """A model's reply held no usable code; the reason is stored with the failed candidate.

    `code` is the code the reply did hold when it failed the checks (e.g. a syntax error at `line`), so it can
    be stored and repaired; None when the reply held no code at all. `edit` says how the reply gave it: "diff"
    (SEARCH/REPLACE blocks that did not apply, or made code that fails the checks) or "rewrite" (whole code).
    """

    def __init__(self, reason: str, code: str | None = None, line: int | None = None, edit: str = "rewrite") -> None:
        super().__init__(reason)
        self.code, self.line, self.edit = code, line, edit


class Interrupted(BaseException):
    """A run stopped from outside: SIGTERM, or the server shutting down. A BaseException, so that no `except
    Exception` on the way swallows it; the job is marked `interrupted` and `evolver resume ID` continues it."""
