"""`datatype`: a dataclass whose methods are shared, or written when first needed.

On Python 3.11 `dataclasses.dataclass` writes each class its own `__init__`, `__repr__`,
`__eq__`, `__hash__` and, frozen, `__setattr__` and `__delattr__`, compiling each from source:
about 0.6 ms a class. A call imports a hundred such classes before the tutor's first line, so
they were a fifth of its start. A datatype is a real dataclass (`dataclasses.fields`, `replace`,
`asdict` and `match` patterns work as on any other; type checkers treat it as one), made by
`dataclass` with code generation turned off: its `__repr__`, `__eq__` and `__hash__` are shared
ones that read the class's fields, and its `__init__` is compiled, as `dataclass` would write
it, when the first instance is made. Defining a class costs about 0.04 ms; most classes a run
defines are never made, and an instance costs what a dataclass's does.

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

    shown: tuple[str, ...]  # in the repr
    compared: tuple[str, ...]  # in ==, and in the hash of a frozen one


def _plan(cls: type) -> _Plan:
    fields = dataclasses.fields(cls)
    return _Plan(
        shown=tuple(f.name for f in fields if f.repr),
        compared=tuple(f.name for f in fields if f.compare),
    )


class _Factory:
    """The default of a parameter whose field has a default factory: call it."""

    def __repr__(self) -> str:
        return "<factory>"  # as a dataclass's signature shows it


_FACTORY = _Factory()


def _compiled_init(cls: type) -> Callable[..., None]:
    """The `__init__` `dataclass` would have written for `cls`: the same parameters, in the
    same order, setting every field (through `object.__setattr__`, so frozen ones too)."""
    namespace: dict[str, Any] = {"__set": object.__setattr__, "__factory": _FACTORY}
    positional: list[str] = []
    keywords: list[str] = []
    body: list[str] = []
    annotations: dict[str, Any] = {}
    for number, field in enumerate(dataclasses.fields(cls)):
        default, value = f"__default{number}", field.name
        if field.default is not MISSING:
            namespace[default] = field.default
            parameter = f"{field.name}={default}"
        elif field.default_factory is not MISSING:
            namespace[default] = field.default_factory
            parameter = f"{field.name}=__factory"
            value = f"{default}() if {field.name} is __factory else {field.name}"
        else:
            parameter = field.name
        if not field.init:  # never passed: its default, or a new one from its factory
            value = f"{default}()" if field.default_factory is not MISSING else default
        else:
            (keywords if field.kw_only else positional).append(parameter)
            annotations[field.name] = field.type
        body.append(f"    __set(__self, {field.name!r}, {value})")
    if hasattr(cls, "__post_init__"):
        body.append("    __self.__post_init__()")
    parameters = ", ".join(["__self", *positional, *(["*", *keywords] if keywords else [])])
    source = f"def __init__({parameters}):\n" + "\n".join(body or ["    pass"]) + "\n"
    exec(source, namespace)  # our own source, made from the field names
    init: Callable[..., None] = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__annotations__ = {**annotations, "return": None}
    return init


def _first_init(self: Any, *args: Any, **kwargs: Any) -> None:
    """A datatype's first instance: its `__init__` is compiled now, and used from now on."""
    cls = type(self)
    init = _compiled_init(cls)
    type.__setattr__(cls, "__init__", init)
    init(self, *args, **kwargs)


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
    methods: dict[str, Callable[..., Any] | None] = {"__init__": _first_init, "__repr__": _repr}
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
