"""The replay's pacer, on numbers: no clock, no sleeping."""

from __future__ import annotations

import math

import pytest

from tutor_cli.replay.pacer import Pacer


def test_held_until_released_then_moves_at_its_speed() -> None:
    pacer = Pacer(5.0)
    assert pacer.held and pacer.position(10.0) == 5.0  # reading up to the start costs nothing
    assert pacer.delay(6.0, 10.0) == math.inf
    pacer.release(10.0)
    pacer.release(99.0)  # already moving: no effect
    assert pacer.position(11.0) == 6.0
    assert pacer.delay(8.0, 11.0) == 2.0 and pacer.delay(5.5, 11.0) == 0.0


def test_pause_freezes_and_speed_changes_at_once() -> None:
    pacer = Pacer(0.0)
    pacer.release(0.0)
    pacer.pause(1.0)
    assert pacer.position(20.0) == 1.0 and pacer.delay(2.0, 20.0) == math.inf
    pacer.resume(20.0)
    pacer.set_speed(4.0, 20.0)
    assert pacer.position(21.0) == 5.0
    assert pacer.delay(9.0, 21.0) == 1.0  # four seconds of lesson in one real second
    pacer.set_speed(0.5, 21.0)
    assert pacer.position(23.0) == 6.0


def test_seek_jumps_and_holds() -> None:
    pacer = Pacer(0.0, speed=2.0)
    pacer.release(0.0)
    pacer.seek(30.0)
    assert pacer.held and pacer.position(50.0) == 30.0
    pacer.release(50.0)
    assert pacer.position(51.0) == 32.0
    pacer.seek(-3.0)
    assert pacer.position(60.0) == 0.0


def test_a_paused_pacer_stays_paused_across_a_seek() -> None:
    pacer = Pacer(0.0, paused=True)
    pacer.release(0.0)
    pacer.seek(10.0)
    pacer.release(5.0)
    assert pacer.position(100.0) == 10.0 and pacer.delay(11.0, 100.0) == math.inf


def test_speed_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Pacer(speed=0)
    with pytest.raises(ValueError):
        Pacer().set_speed(-1.0, 0.0)
