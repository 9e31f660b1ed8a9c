"""Token usage, accumulated per response, and what it costs.

Prices are US dollars per million tokens, as OpenAI lists them for the Realtime models. Cached
input is billed at the cached rate. A model missing from the table has no cost estimate, and
only engines that bill have a cost at all: a local or self-hosted server (the offline engine,
any `ws://` URL) may take a model's name, but nobody pays per token for it.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from tutor_cli.datatypes import datatype

# model: (text in, cached text in, audio in, cached audio in, text out, audio out)
PRICES_PER_MILLION: dict[str, tuple[float, float, float, float, float, float]] = {
    "gpt-realtime": (4.00, 0.40, 32.00, 0.40, 16.00, 64.00),
    "gpt-realtime-mini": (0.60, 0.06, 10.00, 0.30, 2.40, 20.00),
    "gpt-4o-realtime-preview": (5.00, 2.50, 40.00, 2.50, 20.00, 80.00),
    "gpt-4o-mini-realtime-preview": (0.60, 0.30, 10.00, 0.30, 2.40, 20.00),
}


@datatype
class Usage:
    """Tokens used so far in a session."""

    text_in: int = 0
    cached_text_in: int = 0
    audio_in: int = 0
    cached_audio_in: int = 0
    text_out: int = 0
    audio_out: int = 0
    responses: int = 0

    @property
    def input_tokens(self) -> int:
        return self.text_in + self.audio_in

    @property
    def output_tokens(self) -> int:
        return self.text_out + self.audio_out

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def add(self, usage: dict[str, Any]) -> Usage:
        """This usage plus one `response.done` usage object (missing fields count as 0)."""
        details_in = usage.get("input_token_details") or {}
        details_out = usage.get("output_token_details") or {}
        cached = details_in.get("cached_tokens_details") or {}

        def n(value: Any) -> int:
            return value if isinstance(value, int) and not isinstance(value, bool) else 0

        return Usage(
            text_in=self.text_in + n(details_in.get("text_tokens")),
            cached_text_in=self.cached_text_in + n(cached.get("text_tokens")),
            audio_in=self.audio_in + n(details_in.get("audio_tokens")),
            cached_audio_in=self.cached_audio_in + n(cached.get("audio_tokens")),
            text_out=self.text_out + n(details_out.get("text_tokens")),
            audio_out=self.audio_out + n(details_out.get("audio_tokens")),
            responses=self.responses + 1,
        )

    def as_response_usage(self) -> dict[str, Any]:
        """This usage as the API reports it in `response.done.response.usage`; `add` reads it
        back (the cached details appear only when something was cached)."""
        details_in: dict[str, Any] = {
            "text_tokens": self.text_in,
            "audio_tokens": self.audio_in,
            "cached_tokens": self.cached_text_in + self.cached_audio_in,
        }
        if self.cached_text_in or self.cached_audio_in:
            details_in["cached_tokens_details"] = {
                "text_tokens": self.cached_text_in,
                "audio_tokens": self.cached_audio_in,
            }
        return {
            "total_tokens": self.total_tokens,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "input_token_details": details_in,
            "output_token_details": {"text_tokens": self.text_out, "audio_tokens": self.audio_out},
        }

    def as_dict(self) -> dict[str, int]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out.update(input_tokens=self.input_tokens, output_tokens=self.output_tokens)
        out["total_tokens"] = self.total_tokens
        return out


BILLING_ENGINES = frozenset({"openai", "azure"})


def engine_bills(engine: str) -> bool:
    """Whether tokens on this engine (as an `Endpoint` names it) cost money."""
    return engine in BILLING_ENGINES


def engine_cost(engine: str, model: str, usage: Usage) -> float | None:
    """What `usage` costs on `engine`: None for an engine that does not bill, or a model
    whose prices are unknown."""
    return cost_usd(model, usage) if engine_bills(engine) else None


def price_model(model: str) -> str | None:
    """The table's entry for a model name, dated snapshots included (`gpt-realtime-2025-08-28`)."""
    for name in sorted(PRICES_PER_MILLION, key=len, reverse=True):
        if model == name or model.startswith(name + "-"):
            return name
    return None


def cost_usd(model: str, usage: Usage) -> float | None:
    """Estimated cost of `usage` on `model`, or None when the model's prices are unknown."""
    name = price_model(model)
    if name is None:
        return None
    text_in, cached_text, audio_in, cached_audio, text_out, audio_out = PRICES_PER_MILLION[name]
    dollars = (
        (usage.text_in - usage.cached_text_in) * text_in
        + usage.cached_text_in * cached_text
        + (usage.audio_in - usage.cached_audio_in) * audio_in
        + usage.cached_audio_in * cached_audio
        + usage.text_out * text_out
        + usage.audio_out * audio_out
    )
    return dollars / 1_000_000
