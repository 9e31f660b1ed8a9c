"""The relay's learners: a TOML file of names and SHA-256 hashes of their tokens.

```toml
[[user]]
name = "ana"
token_sha256 = "9f86d0…"
```

`tutor serve --add-user NAME --users FILE` makes a token, prints it once and keeps only its
hash, so the file can be read by whoever runs the relay without giving anyone a way in. A token
is found by hashing what a client sent and comparing it with every user's hash in constant
time. Logs name a user by a tag (first letter and a short hash), never in full.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tutor_cli.datatypes import datatype
from tutor_cli.errors import BadInput
from tutor_cli.toml_files import read_toml

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
HASH = re.compile(r"[0-9a-f]{64}")
FIELDS = ("name", "token_sha256")


def token_hash(token: bytes) -> str:
    """The hex SHA-256 of a token, as the users file keeps it."""
    return hashlib.sha256(token).hexdigest()


@datatype
class User:
    """A learner the relay lets in."""

    name: str
    token_sha256: str

    @property
    def tag(self) -> str:
        """How logs name this user: enough to match lines, not to know who it is."""
        return f"{self.name[0]}…{hashlib.sha256(self.name.encode()).hexdigest()[:4]}"


def _user(path: Path, index: int, entry: Any) -> User:
    where = f"{path}: field 'user[{index}]"
    if not isinstance(entry, dict):
        raise BadInput(f"{where}': expected a table with name and token_sha256")
    for key in entry:
        if key not in FIELDS:
            raise BadInput(f"{where}.{key}': unknown field (a user has name and token_sha256)")
    name, digest = entry.get("name"), entry.get("token_sha256")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise BadInput(f"{where}.name': {name!r} is not a simple name (letters, digits, _.-)")
    if not isinstance(digest, str) or not HASH.fullmatch(digest):
        shown = "missing" if digest is None else "not 64 lower-case hex digits"
        raise BadInput(f"{where}.token_sha256': {shown}")
    return User(name, digest)


class UserBook:
    """The users of one relay, from its users file."""

    def __init__(self, users: list[User]) -> None:
        self.users = users

    @classmethod
    def load(cls, path: Path) -> UserBook:
        """Read `path`; BadInput, one line naming the file and field, for anything wrong."""
        missing = f"no such file (make one with: tutor serve --add-user NAME --users {path})"
        return cls.of(path, read_toml(path, missing=missing))

    @classmethod
    def of(cls, path: Path, data: dict[str, Any]) -> UserBook:
        """The users in `data`, the table read from `path`."""
        for key in data:
            if key != "user":
                raise BadInput(f"{path}: field '{key}': unknown (the file holds [[user]] tables)")
        entries = data.get("user", [])
        if not isinstance(entries, list):
            raise BadInput(f"{path}: field 'user': expected [[user]] tables")
        users: list[User] = []
        for index, entry in enumerate(entries):
            user = _user(path, index, entry)
            if any(u.name == user.name for u in users):
                raise BadInput(f"{path}: field 'user[{index}].name': {user.name!r} appears twice")
            if any(u.token_sha256 == user.token_sha256 for u in users):
                raise BadInput(
                    f"{path}: field 'user[{index}].token_sha256': the same as another user's"
                )
            users.append(user)
        return cls(users)

    def __iter__(self) -> Iterator[User]:
        return iter(self.users)

    def __len__(self) -> int:
        return len(self.users)

    def who(self, token: bytes | None) -> User | None:
        """The user whose token was sent, or None. Every user's hash is compared, whatever
        matches, so the time taken says nothing about which one did."""
        if token is None:
            return None
        sent = token_hash(token).encode()
        found = None
        for user in self.users:
            if hmac.compare_digest(sent, user.token_sha256.encode()):
                found = user
        return found


def add_user(path: Path, name: str) -> str:
    """Add `name` to the users file at `path` (created, owner-only, if missing) with a new
    token, and return the token: the only time it exists outside the learner's hands."""
    if not NAME.fullmatch(name):
        raise BadInput(
            f"--add-user: NAME {name!r} must be a simple name: letters, digits and _.- "
            "(at most 64, starting with a letter or digit)"
        )
    existing = ""
    if path.exists():
        book = UserBook.load(path)  # checked whole before anything is added to it
        existing = path.read_text(encoding="utf-8")
        if any(user.name == name for user in book):
            raise BadInput(f"{path}: {name!r} is already a user")
    token = secrets.token_urlsafe(32)
    entry = f'[[user]]\nname = "{name}"\ntoken_sha256 = "{token_hash(token.encode())}"\n'
    text = (existing.rstrip("\n") + "\n\n" if existing.strip() else "") + entry
    _write_private(path, text)
    return token


def _write_private(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step, readable by its owner only."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise BadInput(f"{path}: cannot write: {exc.strerror or exc}") from None
