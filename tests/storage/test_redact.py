"""Secrets kept out of what is shown and written: whole, split across deltas, in URLs."""

from __future__ import annotations

import itertools

import pytest

from tutor_cli.realtime.endpoint import public_url, resolve_endpoint
from tutor_cli.storage.redact import Redactor, SplitSecrets

KEY = "sk-proj-ABCDEFGHIJ0123456789"


@pytest.mark.parametrize("cuts", [(5,), (9, 17), (1, 2, 3, 4), (12, 26), (3,)])
def test_a_secret_cut_anywhere_never_comes_out(cuts: tuple[int, ...]) -> None:
    text = f"la clave: {KEY}. ¡Listo!"
    start = text.index(KEY)
    bounds = [0, *(start + c for c in cuts), len(text)]
    pieces = [text[a:b] for a, b in itertools.pairwise(bounds)]
    split = SplitSecrets(Redactor([KEY]))
    out = "".join(split.piece("item_1", piece) for piece in pieces)
    assert "[redacted]" in out and out.endswith(". ¡Listo!")
    for size in range(4, len(KEY) + 1):  # no run of 4 or more of the key's characters
        for at in range(len(KEY) - size + 1):
            assert KEY[at : at + size] not in out


def test_streams_are_kept_apart_and_plain_text_is_untouched() -> None:
    split = SplitSecrets(Redactor([KEY]))
    assert split.piece("a", "sk-proj-") == "[redacted]"  # the start of the key: held back
    assert split.piece("b", "nada que ver") == "nada que ver"
    assert split.piece("a", "ABCDEFGHIJ0123456789 ok") == "[redacted] ok"
    assert SplitSecrets(Redactor()).piece("a", KEY) == KEY  # no secrets: nothing to do


def test_urls_are_shown_without_user_info_and_the_password_is_a_secret() -> None:
    assert public_url("ws://alice:hunter2@host:8765/v1/realtime?x=1") == (
        "ws://host:8765/v1/realtime"
    )
    assert public_url("wss://[::1]:9/rt") == "wss://[::1]:9/rt"
    endpoint = resolve_endpoint("ws://alice:hunter2@host/rt", model=None, scenario="s", env={})
    assert endpoint is not None and "hunter2" in endpoint.secrets
    assert "hunter2" not in endpoint.describe() and "alice" not in endpoint.describe()
