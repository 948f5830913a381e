"""Read-only views for an evolved player: nothing it is handed can be written through, nested values included.

`freeze` makes a deep, immutable copy of plain data (what the player sees of variables and observations).
Live windows onto host containers that keep changing (the wallet, a plugin's state, the day's view) are
`types.MappingProxyType`s: read-only, and read in C, which matters in a player's daily loop. `FrozenRows`
is the same for the growing list of day rows, and `FrozenMap` the base of views that need more behaviour.
The windows are shallow: they are only put over containers whose values are numbers or already frozen.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, NoReturn, overload

from simcore.errors import SimulationError

SCALARS = (int, float, str, bytes, type(None))  # immutable: shown as they are (bool is an int)
PLAIN_SCALARS = frozenset({int, float, str, bool, type(None)})  # exact types, for a fast check in a daily loop


class FrozenMap(Mapping[Any, Any]):
    """A read-only mapping over `data` (not a copy: later changes to `data` show); writes raise TypeError."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[Any, Any]) -> None:
        object.__setattr__(self, "_data", data)

    def __getitem__(self, key: Any) -> Any:
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"FrozenMap({dict(self._data)!r})"

    def __setitem__(self, key: Any, value: Any) -> NoReturn:
        _refuse(self)

    def __delitem__(self, key: Any) -> NoReturn:
        _refuse(self)

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        _refuse(self)


class FrozenRows(Sequence[Any]):
    """A read-only sequence over a host list that only grows (the player's `s`); its items must be frozen."""

    __slots__ = ("_rows",)

    def __init__(self, rows: Sequence[Any]) -> None:
        object.__setattr__(self, "_rows", rows)

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Any, ...]: ...

    def __getitem__(self, index: int | slice) -> Any:
        return tuple(self._rows[index]) if isinstance(index, slice) else self._rows[index]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return f"FrozenRows({list(self._rows)!r})"

    def __setitem__(self, index: Any, value: Any) -> NoReturn:
        _refuse(self)

    def __delitem__(self, index: Any) -> NoReturn:
        _refuse(self)

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        _refuse(self)


def _refuse(view: object) -> NoReturn:
    raise TypeError(f"{type(view).__name__} is read-only: keep your own notes in r, change balances through actions")


def freeze(value: Any, where: str) -> Any:
    """A deep immutable copy of plain data: mappings become read-only mappings, lists tuples, sets frozensets.

    Anything else (a function, a plugin, an arbitrary object) is not shown to a player: a SimulationError
    naming `where`, so a scenario that would leak a live object fails before the player runs.
    """
    if isinstance(value, SCALARS):
        return value
    if isinstance(value, Mapping):
        return MappingProxyType({key: freeze(item, f"{where}[{key!r}]") for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(item, f"{where}[{n}]") for n, item in enumerate(value))
    if isinstance(value, (set, frozenset)):
        return frozenset(freeze(item, where) for item in value)
    raise SimulationError(
        f"{where} is a {type(value).__name__}; a player is shown only numbers, strings, None, lists and dicts"
    )
