"""What the offline engine bills: token figures shaped like the API's, so a client's usage
display and cost estimate work unchanged (the offline engine's price is zero)."""

from __future__ import annotations

from tutor_cli.realtime.events import BYTES_PER_MS

AUDIO_TOKENS_PER_SECOND = 20  # about what the API bills for speech


def text_tokens(text: str) -> int:
    """About four characters a token, as for English text."""
    return max(1, len(text) // 4) if text else 0


def audio_tokens(byte_count: int) -> int:
    """Tokens for `byte_count` bytes of protocol PCM."""
    return byte_count // (BYTES_PER_MS * 1000 // AUDIO_TOKENS_PER_SECOND)
