"""The relay's learners: a users file of names and hashed tokens, made with `tutor serve
--add-user`, read strictly (a bad file is one line naming the field), and tokens checked in
constant time without ever being kept or shown again."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from tests.cli_runner import tutor
from tutor_cli.errors import BadInput
from tutor_cli.relay.users import UserBook, add_user


def test_add_user_prints_a_token_once_and_keeps_only_its_hash(tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    result = tutor("serve", "--add-user", "ana", "--users", str(users))
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1].split()[-1]
    text = users.read_text()
    assert token not in text
    assert hashlib.sha256(token.encode()).hexdigest() in text
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
    book = UserBook.load(users)
    assert book.who(token.encode()) is not None and book.who(token.encode()).name == "ana"
    assert book.who(b"wrong") is None and book.who(None) is None


def test_a_second_user_is_appended_and_a_name_taken_twice_is_refused(tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    ana = add_user(users, "ana")
    bo = add_user(users, "bo.b-2")
    book = UserBook.load(users)
    assert [u.name for u in book] == ["ana", "bo.b-2"]
    assert book.who(ana.encode()).name == "ana" and book.who(bo.encode()).name == "bo.b-2"
    with pytest.raises(BadInput, match="'ana' is already a user"):
        add_user(users, "ana")
    again = tutor("serve", "--add-user", "ana", "--users", str(users))
    assert again.returncode == 2 and len(again.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("name", ["", "a b", "ana\n", "x" * 65, "-ana", "ána"])
def test_a_name_that_is_not_a_simple_word_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(BadInput, match="NAME"):
        add_user(tmp_path / "users.toml", name)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[[user]]\nname = 'ana'\n", "user[0].token_sha256"),
        ("[[user]]\nname = 'ana'\ntoken_sha256 = 'abc'\n", "user[0].token_sha256"),
        (f"[[user]]\nname = 7\ntoken_sha256 = '{'a' * 64}'\n", "user[0].name"),
        (f"[[user]]\nname = 'ana'\ntoken_sha256 = '{'a' * 64}'\nrole = 'x'\n", "user[0].role"),
        ("[users]\n", "users"),
        ("user = 3\n", "user"),
        ("[[user]\n", "invalid TOML"),
        ("user = " + "[" * 100_000, "nested too deeply"),
        (b"user = '\xff'\n", "not UTF-8"),
        (
            f"[[user]]\nname = 'ana'\ntoken_sha256 = '{'a' * 64}'\n"
            f"[[user]]\nname = 'ana'\ntoken_sha256 = '{'b' * 64}'\n",
            "user[1].name",
        ),
        (
            f"[[user]]\nname = 'ana'\ntoken_sha256 = '{'a' * 64}'\n"
            f"[[user]]\nname = 'bo'\ntoken_sha256 = '{'a' * 64}'\n",
            "user[1].token_sha256",
        ),
    ],
)
def test_a_bad_users_file_is_one_line_naming_the_field(
    tmp_path: Path, text: str | bytes, field: str
) -> None:
    users = tmp_path / "users.toml"
    users.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(BadInput) as caught:
        UserBook.load(users)
    message = str(caught.value)
    assert str(users) in message and field in message and "\n" not in message
    result = tutor("serve", "--relay", "--users", str(users), "--port", "0")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"tutor: {message}"]


def test_a_missing_users_file_is_one_line(tmp_path: Path) -> None:
    result = tutor("serve", "--relay", "--users", str(tmp_path / "nope.toml"), "--port", "0")
    assert result.returncode == 2
    assert "nope.toml: no such file" in result.stderr and "--add-user" in result.stderr


def test_logs_name_a_user_by_a_tag_never_in_full(tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    add_user(users, "anastasia")
    (user,) = UserBook.load(users)
    assert "anastasia" not in user.tag and user.tag.startswith("a…")
    assert user.tag == UserBook.load(users).users[0].tag  # stable, so lines can be matched
