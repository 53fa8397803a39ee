"""Dash callbacks, one module per page; importing this package registers them all."""

from callbacks import overview  # noqa: F401
