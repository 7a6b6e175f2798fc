"""The desk on the hub's Flask app: `init_desk(app, hub)` is the one call `create_app` makes."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from knowledge.settings import Settings as KnowledgeSettings

from .api import blueprint as api_blueprint
from .auth import init_auth
from .events import blueprint as events_blueprint
from .pages import register_pages
from .secret import secret_key


def init_desk(app: Flask, hub) -> None:
    """Sessions, CSRF, login throttling, and the desk's pages, JSON API and event stream."""
    check_drafts_outside_the_faq(Path(hub.settings.drafts_dir), KnowledgeSettings.from_env().kb_dir)
    app.secret_key = secret_key(hub.settings.secret_key)
    init_auth(app)
    app.register_blueprint(api_blueprint)
    app.register_blueprint(events_blueprint)
    register_pages(app)


def check_drafts_outside_the_faq(drafts_dir: Path, kb_dir: Path) -> None:
    """Drafts inside the FAQ folder would be served by the bot before anyone reviewed them."""
    if drafts_dir.resolve().is_relative_to(kb_dir.resolve()):
        raise ValueError(
            f"FAQBOT_DRAFTS_DIR ({drafts_dir}) is inside the FAQ folder ({kb_dir}): the bot would serve "
            "unreviewed drafts; put the drafts elsewhere (default: data/faq-drafts)"
        )
