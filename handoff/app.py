"""The hub: conversations and their one history across channels, the customer chat API,
the escalation queue and the agents' API.

`create_app()` is a Flask application factory; everything the blueprints need hangs on
`app.extensions["faqbot"]` (see `hub()`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from flask import Flask, current_app

from .config import HubSettings
from .conversations import Conversations
from .db import Database
from .desk import Desk
from .pubsub import PubSub, from_url
from .rasa_client import RasaClient

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@dataclass
class Hub:
    settings: HubSettings
    db: Database
    pubsub: PubSub
    conversations: Conversations
    desk: Desk


def create_app(settings: HubSettings | None = None, migrate: bool = False) -> Flask:
    settings = settings or HubSettings.from_env()
    app = Flask(__name__)
    app.json.ensure_ascii = False
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024

    db = Database(settings.database_url)
    if migrate:
        db.migrate()
    pubsub = from_url(settings.redis_url)
    rasa = RasaClient(settings.rasa_url, settings.rasa_token, settings.rasa_timeout)
    app.extensions["faqbot"] = Hub(settings, db, pubsub, Conversations(settings, db, rasa, pubsub), Desk(db, pubsub))

    from .api.agent import blueprint as agent_api
    from .api.errors import register as register_errors
    from .channels.web import blueprint as web_channel

    register_errors(app)
    app.register_blueprint(web_channel)
    app.register_blueprint(agent_api)

    @app.get("/health")
    def health():
        return {"status": "ok"}

    return app


def hub() -> Hub:
    return current_app.extensions["faqbot"]
