"""Where a call connects: `--engine` turned into a URL, a model and credentials.

The OpenAI key goes only to OpenAI's host; Azure gets its own key; any other server gets a key
only from `TUTOR_ENGINE_KEY`.

Azure is reached on its GA Realtime endpoint, `<endpoint>/openai/v1/realtime?model=<deployment>`
with an `api-key` header: the client speaks GA only, and Azure's dated `api-version` paths
(`/openai/realtime?api-version=…-preview&deployment=…`) speak the beta protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tutor_cli.datatypes import datatype
from tutor_cli.errors import BadInput
from tutor_cli.realtime.pricing import engine_bills

OPENAI_URL = "wss://api.openai.com/v1/realtime"
DEFAULT_MODEL = "gpt-realtime"
AZURE_PATH = "/openai/v1/realtime"
# Keys that may be in the environment: never written or shown, whichever engine is used.
SECRET_VARIABLES = ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "TUTOR_ENGINE_KEY")
_KEY_VARIABLES = dict(zip(("openai", "azure", "url"), SECRET_VARIABLES, strict=True))
# The endpoint's scheme, as the OpenAI SDK maps a base URL to its websocket.
WEBSOCKET_SCHEMES = {"https": "wss", "http": "ws", "wss": "wss", "ws": "ws"}


@datatype
class Endpoint:
    """Where a call connects."""

    engine: str  # openai | azure | offline | url
    url: str
    model: str
    headers: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()  # never to be logged

    def describe(self) -> str:
        """A one-line description without credentials (no user-info, no query)."""
        return f"{self.name} ({public_url(self.url)}, model {self.model})"

    @property
    def name(self) -> str:
        """The engine as the learner sees it named (summary, header, progress, logs): openai,
        azure, offline, or a URL's host and port, never its path, query or credentials."""
        return host_and_port(self.url) if self.engine == "url" else self.engine

    @property
    def key_variable(self) -> str | None:
        """The environment variable its key comes from (offline needs none)."""
        return _KEY_VARIABLES.get(self.engine)

    @property
    def bills(self) -> bool:
        """Whether its tokens cost money (so a cost is worth showing)."""
        return engine_bills(self.engine)


def host_and_port(url: str) -> str:
    """`127.0.0.1:8765` for `ws://user:pw@127.0.0.1:8765/v1/realtime?token=…`."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    try:
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        port = ""
    return f"{host}{port}"


def public_url(url: str) -> str:
    """`url` as it may be shown or logged: scheme, host, port and path; a user name and
    password in it (`ws://alice:secret@host/`) and the query are left out."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{host_and_port(url)}{parts.path}"


def _with_query(url: str, **params: str | None) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    for key, value in params.items():
        if value is not None:
            query.setdefault(key, value)
    return urlunsplit(parts._replace(query=urlencode(query)))


def _azure_realtime_url(endpoint: str) -> str:
    """`AZURE_OPENAI_ENDPOINT` (a URL, or a bare host meaning https) as the websocket URL of
    its GA Realtime path. A path before it (a gateway's) is kept; the SDK's base URL form,
    ending in `/openai/v1` or `/openai`, is taken as the endpoint it extends."""
    parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
    scheme = WEBSOCKET_SCHEMES.get(parts.scheme)
    if scheme is None:
        raise BadInput(
            f"AZURE_OPENAI_ENDPOINT: {endpoint!r} is not an https://, http://, wss:// or ws:// URL"
        )
    if not parts.hostname:
        raise BadInput(f"AZURE_OPENAI_ENDPOINT: {endpoint!r} has no host")
    prefix = parts.path.rstrip("/")
    for suffix in ("/openai/v1", "/openai"):
        if prefix.endswith(suffix):
            prefix = prefix.removesuffix(suffix)
            break
    return urlunsplit((scheme, parts.netloc, prefix + AZURE_PATH, parts.query, ""))


def resolve_endpoint(
    engine: str, *, model: str | None, scenario: str, env: Mapping[str, str]
) -> Endpoint | None:
    """The endpoint for `--engine`; None means the built-in offline engine."""
    choice = engine.strip()
    if choice == "auto":
        choice = "openai" if env.get("OPENAI_API_KEY") else "offline"
    if choice == "offline":
        return None
    if choice == "openai":
        key = env.get("OPENAI_API_KEY", "").strip()
        if not key:
            raise BadInput(
                "--engine openai needs an API key: export OPENAI_API_KEY=sk-... "
                "(or use --engine offline, which needs none)"
            )
        chosen = model or DEFAULT_MODEL
        return Endpoint(
            "openai",
            _with_query(OPENAI_URL, model=chosen),
            chosen,
            {"Authorization": f"Bearer {key}"},
            (key,),
        )
    if choice == "azure":
        base = env.get("AZURE_OPENAI_ENDPOINT", "").strip()
        key = env.get("AZURE_OPENAI_API_KEY", "").strip()
        deployment = model or env.get("AZURE_OPENAI_DEPLOYMENT", "").strip()
        missing = [
            name
            for name, value in (
                ("AZURE_OPENAI_ENDPOINT", base),
                ("AZURE_OPENAI_API_KEY", key),
                ("AZURE_OPENAI_DEPLOYMENT (or --model)", deployment),
            )
            if not value
        ]
        if missing:
            raise BadInput(f"--engine azure needs {', '.join(missing)}")
        version = env.get("AZURE_OPENAI_API_VERSION", "").strip()
        if version:
            # Every api-version names the preview path; the GA one takes none. Refused rather
            # than ignored, so nobody believes the preview protocol is in use.
            raise BadInput(
                f"AZURE_OPENAI_API_VERSION={version}: an api-version selects Azure's preview "
                "(beta) Realtime protocol, which tutor does not speak; it speaks GA, at "
                f"{AZURE_PATH} with no api-version: unset it"
            )
        url = _with_query(_azure_realtime_url(base), model=deployment)
        return Endpoint("azure", url, deployment, {"api-key": key}, (key,))
    if choice.startswith(("ws://", "wss://")):
        parts = urlsplit(choice)
        if not parts.netloc:
            raise BadInput(f"--engine: {choice!r} has no host")
        chosen = model or DEFAULT_MODEL
        key = env.get("TUTOR_ENGINE_KEY", "").strip()
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        url = _with_query(choice, model=chosen, scenario=scenario)
        secrets = tuple(s for s in (key, parts.password) if s)  # the URL may carry a password
        return Endpoint("url", url, chosen, headers, secrets)
    raise BadInput(
        f"--engine: {engine!r} is not one of auto, openai, azure, offline, or a ws:// or wss:// URL"
    )
