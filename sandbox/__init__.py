"""sandbox: runs untrusted player code against simcore — RestrictedPython in a limited, disposable child.

Its public face is `evaluate(code, scenario, seeds=..., years=..., limits=...) -> Evaluation` and, for many
candidates over all cores and for arenas (`evaluate_match`), `SandboxPool`. The names load on first use: the
warm parent imports `sandbox.zygote`, and must not pull in the caller's side (pydantic, threads), since every
megabyte it holds makes each fork slower.
"""

import importlib
from typing import Any

_EXPORTS = {
    "Evaluation": "sandbox.evaluation",
    "Limits": "sandbox.evaluation",
    "MatchEvaluation": "sandbox.evaluation",
    "Status": "sandbox.evaluation",
    "SandboxError": "sandbox.pool",
    "SandboxPool": "sandbox.pool",
    "evaluate": "sandbox.pool",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'sandbox' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
