"""QR tokens of shops (一户一码): unguessable, URL-safe, checked for shape before any look-up.

A token is what a shop's QR code carries (``{public_url}/s/<token>``). It is 24 random bytes
from the operating system's CSPRNG written in URL-safe base64: 32 characters, 192 bits, far
beyond guessing. A revoked token is kept on record (``shop_tokens``) so its page can say the
code was replaced. Pure: no SQL.
"""

from __future__ import annotations

import re
import secrets

TOKEN_BYTES = 24
"""Random bytes per token: 192 bits (the floor is 128)."""

MIN_TOKEN_CHARS = 22
"""128 bits written in URL-safe base64 need 22 characters; a shorter string is no token."""

MAX_TOKEN_CHARS = 64
"""The column's width (``shops.qr_token``, ``shop_tokens.token``)."""

_TOKEN_RE = re.compile(rf"[A-Za-z0-9_-]{{{MIN_TOKEN_CHARS},{MAX_TOKEN_CHARS}}}")


def new_token() -> str:
    """A fresh QR token: 192 random bits, 32 URL-safe characters."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_token_format(value: object) -> bool:
    """True when ``value`` has a token's shape (URL-safe base64, 22–64 characters).

    Checked before touching the database, so junk in a URL costs nothing.
    """
    return isinstance(value, str) and _TOKEN_RE.fullmatch(value) is not None


def public_url_for(public_url: str, token: str) -> str:
    """The URL a shop's QR code encodes: ``{public_url}/s/<token>``."""
    if not is_token_format(token):
        raise ValueError("not a shop token: expected 22–64 URL-safe base64 characters")
    return f"{public_url.rstrip('/')}/s/{token}"
