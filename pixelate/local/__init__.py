"""The local stand-ins that run the whole service on one machine against moto's server.

``LocalStack`` (in ``pixelate.local.stack``) starts everything; ``pixelate up`` and ``pixelate demo`` are thin
commands over it. Imported lazily so that ``import pixelate.local`` costs nothing.
"""
from __future__ import annotations

__all__ = ["LocalStack"]


def __getattr__(name: str):
    if name == "LocalStack":
        from pixelate.local.stack import LocalStack

        return LocalStack
    raise AttributeError(f"module 'pixelate.local' has no attribute {name!r}")
