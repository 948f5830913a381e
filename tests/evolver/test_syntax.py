"""Parsing from many threads at once: on CPython 3.11 `ast.parse` alone fails this harness 3 times in 3 (with 4
threads, 60 parses each: python/cpython#106905); the project's `parse` must not."""

from __future__ import annotations

import ast
import sys
import threading
from collections.abc import Callable

from evolver.syntax import parse

SOURCE = "\n".join(
    f"def f{n}(a, b):\n    if a < b:\n        return [x * {n} for x in range(a) if x % 2]\n    return {{'k': (a, b)}}"
    for n in range(60)
)


class Cyclic:
    """Garbage only a collection frees, with a finalizer: it runs Python code in the middle of a parse."""

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        sum(range(50))


def system_errors(parser: Callable[[str], ast.Module], threads: int = 4, rounds: int = 60) -> list[str]:
    """Parse in `threads` threads at once, switching threads as often as CPython allows; the SystemErrors seen."""
    errors: list[str] = []

    def work() -> None:
        for _ in range(rounds):
            try:
                parser(SOURCE)
            except SystemError as exc:
                errors.append(str(exc))
                return
            [Cyclic() for _ in range(20)]

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(interval)
    return errors


def test_parsing_from_many_threads_never_trips_the_ast_depth_check() -> None:
    assert system_errors(parse) == []
    assert parse(SOURCE).body[0].name == "f0"
