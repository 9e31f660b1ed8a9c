"""Who may connect to a server tutor runs (the offline engine, the classroom relay): the
addresses it binds, the web origins whose pages may call it, and bearer tokens.

Both servers check a connection the same way, so the rules live here once.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Collection
from urllib.parse import parse_qs, urlsplit

from tutor_cli.errors import BadInput, warn

_DEFAULT_PORTS = {"http": 80, "https": 443}


def loopback_host(host: str) -> bool:
    """Whether `host` (an address or `localhost`) names this machine's loopback only;
    anything else, the all-interfaces address "0.0.0.0" included, reaches the network."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # another name: it may resolve to anything


def host_and_port(host: str, port: int) -> str:
    """`host:port` as a URL names it (an IPv6 address in brackets)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def check_exposure(host: str, *, protected: bool, insecure: bool, remedy: str) -> None:
    """The bind policy: an address that reaches beyond this machine needs protection (a token,
    a users file); without it, BadInput saying `remedy`, unless `insecure`, which is warned
    about."""
    if loopback_host(host) or protected:
        return
    if not insecure:
        raise BadInput(
            f"--host {host}: reaches beyond this machine; {remedy}, "
            "or pass --insecure to let anyone connect"
        )
    warn(f"listening on {host} without a token (--insecure): anyone who can reach it can use it")


def normalise_origin(value: str) -> str:
    """A web origin as browsers send it: `scheme://host[:port]`, lower case, without its
    scheme's default port. ValueError if `value` is not one (a path, no scheme, "null")."""
    parts = urlsplit(value.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"bad port in {value!r}") from None
    if (
        scheme not in _DEFAULT_PORTS
        or not parts.hostname
        or parts.username is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise ValueError(f"{value!r} is not an origin like https://host[:port]")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    shown_port = "" if port in (None, _DEFAULT_PORTS[scheme]) else f":{port}"
    return f"{scheme}://{host}{shown_port}"


def origins_option(values: list[str] | None) -> list[str]:
    """`--allow-origin` values, normalised; BadInput naming the option for one that is not an
    origin."""
    origins = []
    for origin in values or []:
        try:
            origins.append(normalise_origin(origin))
        except ValueError as exc:
            raise BadInput(f"--allow-origin: {exc}") from None
    return origins


def origin_allowed(origins: list[str], allowed: Collection[str]) -> bool:
    """Whether a connection sending these `Origin` headers may come in: none (not a browser:
    other checks decide), or exactly one that is loopback or in `allowed` (normalised)."""
    if not origins:
        return True
    if len(origins) > 1:
        return False
    try:
        origin = normalise_origin(origins[0])
    except ValueError:
        return False  # "null" (a sandboxed frame, a local file) or junk: could be anyone
    return origin in allowed or loopback_host(urlsplit(origin).hostname or "")


def bearer_token(given: list[str]) -> bytes | None:
    """The token of exactly one `Authorization: Bearer TOKEN` header, as the bytes sent; None
    for no header, several, or another scheme."""
    if len(given) != 1:
        return None
    # Header values arrive decoded as ASCII with every other byte escaped: the token is
    # compared as the bytes that were sent (UTF-8 for a token with other characters).
    sent = given[0].encode("ascii", "surrogateescape")
    prefix = b"Bearer "
    return sent[len(prefix) :] if sent.startswith(prefix) else None


def token_matches(sent: bytes | None, token: str) -> bool:
    """Whether `sent` is `token`, compared in constant time."""
    expected = token.encode("utf-8", "surrogateescape")
    # compare_digest on the bytes: its time depends on the length alone, not the content.
    return sent is not None and hmac.compare_digest(sent, expected)


def query_value(query: str, name: str) -> str | None:
    """The first value of `name` in a URL's query, or None."""
    values = parse_qs(query).get(name)
    return values[0] if values else None
