"""The agents' desk: the service (queue, claim, reply, notes, resolve...), and the web
desk's pages, JSON API, templates and static files."""

from .service import Desk

__all__ = ["Desk"]
