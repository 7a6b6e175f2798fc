"""The hub: conversations and their one history across channels, the customer chat API,
the escalation queue and the agents' API.

The package itself imports nothing heavy: gunicorn's master loads the hub's worker
class from it before the worker applies gevent's monkey-patching, and must not have
imported requests or ssl by then. `create_app` (in `handoff.app`) is loaded on first use.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

if TYPE_CHECKING:
    from .app import Hub, create_app  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in ("create_app", "Hub"):
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module 'handoff' has no attribute {name!r}")


def hub() -> Hub:
    """The hub's services, for the request being handled."""
    from flask import current_app

    return current_app.extensions["faqbot"]
