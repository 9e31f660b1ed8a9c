"""A datatype behaves as the dataclass it stands for: the same classes are declared both ways,
and every construction, comparison and helper is checked against `dataclasses`' answer."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any

import pytest

from tutor_cli.datatypes import datatype


def declare(frozen: Callable[..., Any], mutable: Callable[..., Any], **kw: Any) -> dict[str, Any]:
    """The same classes, declared with the decorators given (`kw`: for the keyword-only one)."""

    @frozen
    class Point:
        x: int
        y: int = 0

    @frozen
    class Plain:
        pass

    @frozen
    class Labelled(Point):
        """A point with a label, and tags made per instance."""

        label: str = "here"
        tags: list[str] = field(default_factory=list)
        secret: str = field(default="", repr=False, compare=False)

    @mutable
    class Counter:
        count: int = 0
        seen: list[int] = field(default_factory=list)
        total: int = field(init=False, default=-1)

        def __post_init__(self) -> None:
            self.total = self.count + len(self.seen)

    @frozen
    class Shown:
        value: int

        def __repr__(self) -> str:
            return f"<{self.value}>"

    kw_only = dataclass(frozen=True, kw_only=True) if frozen is dataclass_frozen else kw["kw"]

    @kw_only
    class Settings:
        speed: float = 1.0
        name: str

    return {c.__name__: c for c in (Point, Plain, Labelled, Counter, Shown, Settings)}


dataclass_frozen = dataclass(frozen=True)
REFERENCE = declare(dataclass_frozen, dataclass)
DATATYPES = declare(datatype, datatype(frozen=False), kw=datatype(kw_only=True))
Point, Labelled = DATATYPES["Point"], DATATYPES["Labelled"]

CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("Point", (1,), {}),
    ("Point", (1, 2), {}),
    ("Point", (), {"y": 2, "x": 1}),
    ("Point", (), {}),
    ("Point", (1, 2, 3), {}),
    ("Point", (1,), {"x": 2}),
    ("Point", (1,), {"z": 2}),
    ("Plain", (), {}),
    ("Plain", (1,), {}),
    ("Labelled", (1, 2, "there", ["a"], "hidden"), {}),
    ("Labelled", (1,), {"secret": "s"}),
    ("Counter", (), {}),
    ("Counter", (2, [1, 2]), {}),
    ("Counter", (), {"total": 5}),
    ("Shown", (3,), {}),
    ("Settings", (), {"name": "n"}),
    ("Settings", ("n",), {}),
    ("Settings", (), {"name": "n", "speed": 2.0}),
]


def outcome(classes: dict[str, Any], name: str, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
    try:
        made = classes[name](*args, **kw)
    except TypeError:
        return TypeError
    return made


@pytest.mark.parametrize(("name", "args", "kw"), CALLS)
def test_made_shown_and_compared_as_a_dataclass_is(
    name: str, args: tuple[Any, ...], kw: dict[str, Any]
) -> None:
    ours, theirs = outcome(DATATYPES, name, args, kw), outcome(REFERENCE, name, args, kw)
    if theirs is TypeError:
        assert ours is TypeError
        return
    assert repr(ours) == repr(theirs)
    assert dataclasses.asdict(ours) == dataclasses.asdict(theirs)
    assert [f.name for f in dataclasses.fields(ours)] == [
        f.name for f in dataclasses.fields(theirs)
    ]
    assert type(ours).__match_args__ == type(theirs).__match_args__
    assert str(inspect.signature(type(ours))) == str(inspect.signature(type(theirs)))
    twin = outcome(DATATYPES, name, args, kw)
    assert (ours == twin) == (theirs == outcome(REFERENCE, name, args, kw))
    assert hashed(ours) == hashed(twin)
    assert (hashed(ours) is TypeError) == (hashed(theirs) is TypeError)


def hashed(value: Any) -> Any:
    try:
        return hash(value)
    except TypeError:  # not hashable at all, or holding something that is not (a list)
        return TypeError


def test_equal_only_to_the_same_class_and_values() -> None:
    point, labelled = DATATYPES["Point"], DATATYPES["Labelled"]
    assert point(1, 2) == point(1, 2) and point(1, 2) != point(2, 1)
    assert point(1, 2) != labelled(1, 2) and point(1, 2) != (1, 2)
    assert labelled(1, secret="a") == labelled(1, secret="b")  # compare=False is left out
    assert len({point(1), point(1), point(2)}) == 2


def test_frozen_refuses_changes_and_replace_makes_new_ones() -> None:
    point = DATATYPES["Point"](1, 2)
    with pytest.raises(FrozenInstanceError):
        point.x = 3
    with pytest.raises(FrozenInstanceError):
        del point.y
    moved = dataclasses.replace(point, y=5)
    assert (moved.x, moved.y, point.y) == (1, 5, 2)


def test_mutable_datatypes_change_and_run_post_init() -> None:
    counter = DATATYPES["Counter"](2, [7])
    assert counter.total == 3
    counter.count = 4
    assert counter.count == 4
    assert DATATYPES["Counter"]().seen is not DATATYPES["Counter"]().seen  # a fresh list each


def test_matched_by_position_and_by_keyword() -> None:
    match Labelled(1, 2, "there"):
        case Point(1, 2):  # a subclass matches its base's pattern
            matched = "point"
        case _:
            matched = "nothing"
    assert matched == "point"
    match Labelled(1, 2, "there"):
        case Labelled(label="there"):
            matched = "label"
        case _:
            matched = "nothing"
    assert matched == "label"


def test_is_a_dataclass_with_its_own_methods_kept() -> None:
    assert dataclasses.is_dataclass(DATATYPES["Point"])
    assert repr(DATATYPES["Shown"](3)) == "<3>"
    assert DATATYPES["Labelled"].__doc__ == "A point with a label, and tags made per instance."
