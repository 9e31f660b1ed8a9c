"""Where `--engine azure` connects: Azure OpenAI's GA Realtime endpoint, exactly as built."""

from __future__ import annotations

import pytest

from tutor_cli.errors import BadInput
from tutor_cli.realtime.endpoint import resolve_endpoint
from tutor_cli.realtime.pricing import Usage, engine_bills, engine_cost

AZURE = {
    "AZURE_OPENAI_ENDPOINT": "https://my-res.openai.azure.com/",
    "AZURE_OPENAI_API_KEY": "az-key",
    "AZURE_OPENAI_DEPLOYMENT": "rt-deploy",
}


def azure(**env: str) -> tuple[str, dict[str, str]]:
    endpoint = resolve_endpoint("azure", model=None, scenario="s", env={**AZURE, **env})
    assert endpoint is not None
    return endpoint.url, endpoint.headers


def test_azure_speaks_ga_at_openai_v1_realtime_with_an_api_key_header() -> None:
    endpoint = resolve_endpoint("azure", model=None, scenario="s", env=AZURE)
    assert endpoint is not None
    assert endpoint.url == "wss://my-res.openai.azure.com/openai/v1/realtime?model=rt-deploy"
    assert endpoint.headers == {"api-key": "az-key"}
    assert (endpoint.engine, endpoint.model, endpoint.secrets) == (
        "azure",
        "rt-deploy",
        ("az-key",),
    )
    named = resolve_endpoint("azure", model="other-deploy", scenario="s", env=AZURE)
    assert named is not None and named.model == "other-deploy"
    assert named.url == "wss://my-res.openai.azure.com/openai/v1/realtime?model=other-deploy"


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("https://my-res.openai.azure.com", "wss://my-res.openai.azure.com/openai/v1/realtime"),
        ("my-res.openai.azure.com", "wss://my-res.openai.azure.com/openai/v1/realtime"),
        ("  my-res.openai.azure.com/ ", "wss://my-res.openai.azure.com/openai/v1/realtime"),
        ("http://127.0.0.1:8765", "ws://127.0.0.1:8765/openai/v1/realtime"),
        ("http://127.0.0.1:8765/", "ws://127.0.0.1:8765/openai/v1/realtime"),
        ("HTTPS://My-Res.openai.azure.com", "wss://My-Res.openai.azure.com/openai/v1/realtime"),
        ("ws://localhost:9000", "ws://localhost:9000/openai/v1/realtime"),
        ("wss://gw.example", "wss://gw.example/openai/v1/realtime"),
        ("https://gw.example/team-a/", "wss://gw.example/team-a/openai/v1/realtime"),
        # the SDK's base URL, `<endpoint>/openai/v1`, given as the endpoint: not doubled
        (
            "https://my-res.openai.azure.com/openai/v1/",
            "wss://my-res.openai.azure.com/openai/v1/realtime",
        ),
        (
            "https://my-res.openai.azure.com/openai",
            "wss://my-res.openai.azure.com/openai/v1/realtime",
        ),
    ],
)
def test_the_endpoint_scheme_maps_as_the_sdk_maps_its_base_url(base: str, url: str) -> None:
    built, headers = azure(AZURE_OPENAI_ENDPOINT=base)
    assert built == url + "?model=rt-deploy"
    assert headers == {"api-key": "az-key"}


def test_a_gateway_query_is_kept() -> None:
    built, _headers = azure(AZURE_OPENAI_ENDPOINT="https://gw.example/rt?code=abc")
    assert built == "wss://gw.example/rt/openai/v1/realtime?code=abc&model=rt-deploy"


@pytest.mark.parametrize("version", ["2025-04-01-preview", "2024-10-01-preview", "2025-08-28"])
def test_an_api_version_asks_for_the_preview_protocol_and_is_refused(version: str) -> None:
    with pytest.raises(BadInput) as raised:
        azure(AZURE_OPENAI_API_VERSION=version)
    message = str(raised.value)
    assert message.startswith(f"AZURE_OPENAI_API_VERSION={version}: ")
    assert "preview (beta) Realtime protocol" in message and "unset it" in message
    assert "\n" not in message and "az-key" not in message


def test_an_empty_api_version_is_no_version() -> None:
    built, _headers = azure(AZURE_OPENAI_API_VERSION="  ")
    assert built == "wss://my-res.openai.azure.com/openai/v1/realtime?model=rt-deploy"


@pytest.mark.parametrize(
    ("base", "message"),
    [
        ("ftp://my-res.openai.azure.com", "is not an https://, http://, wss:// or ws:// URL"),
        ("https://", "has no host"),
        ("https:///openai", "has no host"),
    ],
)
def test_an_endpoint_that_is_not_a_url_is_one_line(base: str, message: str) -> None:
    with pytest.raises(BadInput, match=f"^AZURE_OPENAI_ENDPOINT: {base!r} {message}"):
        azure(AZURE_OPENAI_ENDPOINT=base)


@pytest.mark.parametrize(
    "missing", ["AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_DEPLOYMENT"]
)
def test_missing_azure_settings_are_named(missing: str) -> None:
    with pytest.raises(BadInput, match=f"--engine azure needs {missing}"):
        azure(**{missing: ""})


@pytest.mark.parametrize(
    ("engine", "name"),
    [
        ("ws://127.0.0.1:8765/v1/realtime?scenario=x&token=t", "127.0.0.1:8765"),
        ("wss://alice:secret@tutor.example/rt", "tutor.example"),
        ("ws://[::1]:9000/", "[::1]:9000"),
    ],
)
def test_an_engine_given_by_url_is_named_by_its_host(engine: str, name: str) -> None:
    endpoint = resolve_endpoint(engine, model=None, scenario="a1_taxi_bogota", env={})
    assert endpoint is not None and endpoint.name == name and not endpoint.bills


def test_only_openai_and_azure_bill() -> None:
    openai = resolve_endpoint("openai", model=None, scenario="s", env={"OPENAI_API_KEY": "k"})
    assert openai is not None and openai.name == "openai" and openai.bills
    used = Usage(text_in=1000, audio_out=1000)
    assert engine_cost("openai", "gpt-realtime", used) == pytest.approx(0.068)
    assert engine_cost("azure", "gpt-realtime", used) == pytest.approx(0.068)
    for engine in ("offline", "127.0.0.1:8765", "url"):
        assert not engine_bills(engine)
        assert engine_cost(engine, "gpt-realtime", used) is None
