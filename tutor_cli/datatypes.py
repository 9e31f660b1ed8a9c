"""`datatype`: a dataclass whose methods are shared, not generated.

On Python 3.11 `dataclasses.dataclass` writes each class its own `__init__`, `__repr__`,
`__eq__`, `__hash__` and, frozen, `__setattr__` and `__delattr__`, compiling each from source:
about 0.6 ms a class. A call imports a hundred such classes before the tutor's first line, so
they were a fifth of its start. A datatype is a real dataclass (`dataclasses.fields`, `replace`,
`asdict` and `match` patterns work as on any other; type checkers treat it as one), made by
`dataclass` with code generation turned off, and given the methods below, which read the
class's fields at run time: defining a class costs about 0.03 ms, making an instance about
2 us instead of 0.7.

Defaults are those of a frozen dataclass; `datatype(frozen=False)` is a mutable one,
`datatype(eq=False)` keeps identity equality and hashing, `datatype(kw_only=True)` is as in
`dataclass`. Methods the class defines itself are kept, as `dataclass` keeps them. Ordering,
slots and `InitVar` are not offered: nothing here needs them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import MISSING, FrozenInstanceError
from typing import Any, NamedTuple, TypeVar, dataclass_transform, overload

T = TypeVar("T")


class _Plan(NamedTuple):
    """What the shared methods need to know of one datatype."""

    positional: tuple[str, ...]  # what positional arguments fill, in order
    init: frozenset[str]  # what may be passed at all
    fields: tuple[tuple[str, Any, Any], ...]  # every field: (name, default, default_factory)
    shown: tuple[str, ...]  # in the repr
    compared: tuple[str, ...]  # in ==, and in the hash of a frozen one
    post_init: bool


def _plan(cls: type) -> _Plan:
    fields = dataclasses.fields(cls)
    init = [f for f in fields if f.init]
    return _Plan(
        positional=tuple(f.name for f in init if not f.kw_only),
        init=frozenset(f.name for f in init),
        fields=tuple((f.name, f.default, f.default_factory) for f in fields),
        shown=tuple(f.name for f in fields if f.repr),
        compared=tuple(f.name for f in fields if f.compare),
        post_init=hasattr(cls, "__post_init__"),
    )


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    cls = type(self)
    plan: _Plan = cls.__datatype_plan__
    if len(args) > len(plan.positional):
        raise TypeError(
            f"{cls.__qualname__}() takes {len(plan.positional)} positional arguments "
            f"but {len(args)} were given"
        )
    given = dict(zip(plan.positional, args, strict=False))
    for name in kwargs:
        if name in given:
            raise TypeError(f"{cls.__qualname__}() got multiple values for argument {name!r}")
        if name not in plan.init:
            raise TypeError(f"{cls.__qualname__}() got an unexpected keyword argument {name!r}")
    given.update(kwargs)
    for name, default, factory in plan.fields:
        if name in given:
            value = given[name]
        elif default is not MISSING:
            value = default
        elif factory is not MISSING:
            value = factory()
        else:
            raise TypeError(f"{cls.__qualname__}() missing required argument: {name!r}")
        object.__setattr__(self, name, value)
    if plan.post_init:
        self.__post_init__()


def _values(self: Any) -> tuple[Any, ...]:
    return tuple(getattr(self, name) for name in type(self).__datatype_plan__.compared)


def _repr(self: Any) -> str:
    shown = ", ".join(
        f"{name}={getattr(self, name)!r}" for name in type(self).__datatype_plan__.shown
    )
    return f"{type(self).__qualname__}({shown})"


def _eq(self: Any, other: object) -> Any:  # a bool, or NotImplemented
    if other.__class__ is not self.__class__:
        return NotImplemented
    return bool(_values(self) == _values(other))


def _hash(self: Any) -> int:
    return hash(_values(self))


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _make(cls: type[T], *, frozen: bool, eq: bool, kw_only: bool) -> type[T]:
    own = cls.__dict__
    # `dataclass` documents an undocumented class with its signature, which costs as much as
    # the rest together; a datatype's signature is its fields, which the class shows already.
    undocumented = own.get("__doc__") is None
    if undocumented:
        cls.__doc__ = cls.__name__
    dataclasses.dataclass(cls, init=False, repr=False, eq=False, kw_only=kw_only)
    if undocumented:
        cls.__doc__ = None
    explicit_hash = "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own)
    methods: dict[str, Callable[..., Any] | None] = {"__init__": _init, "__repr__": _repr}
    if eq:
        methods["__eq__"] = _eq
    if frozen:
        methods["__setattr__"] = _frozen_setattr
        methods["__delattr__"] = _frozen_delattr
    for name, method in methods.items():
        if name not in own:
            setattr(cls, name, method)
    if eq and not explicit_hash:  # as `dataclass`: equal by value, hashable only if frozen
        type.__setattr__(cls, "__hash__", _hash if frozen else None)
    type.__setattr__(cls, "__datatype_plan__", _plan(cls))
    return cls


@overload
def datatype(cls: type[T], /) -> type[T]: ...


@overload
def datatype(
    *, frozen: bool = True, eq: bool = True, kw_only: bool = False
) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def datatype(
    cls: type[T] | None = None, /, *, frozen: bool = True, eq: bool = True, kw_only: bool = False
) -> type[T] | Callable[[type[T]], type[T]]:
    """Make `cls` a datatype (see the module): `@datatype`, or `@datatype(frozen=False, …)`."""
    if cls is not None:
        return _make(cls, frozen=frozen, eq=eq, kw_only=kw_only)

    def wrap(cls: type[T]) -> type[T]:
        return _make(cls, frozen=frozen, eq=eq, kw_only=kw_only)

    return wrap
