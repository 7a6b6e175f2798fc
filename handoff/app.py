"""The hub's application factory: `create_app()` builds the Flask app and everything the
blueprints need, hung on `app.extensions["faqbot"]` (see `handoff.hub()`)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from .accounts import Accounts
from .api.validation import JSONProvider
from .background import Background
from .bot_health import BotHealth
from .config import HubSettings
from .conversations import Conversations
from .db import Database
from .desk import Desk
from .desk.assist import Assist
from .pubsub import PubSub, from_url
from .rasa_client import RasaClient


@dataclass
class Hub:
    settings: HubSettings
    db: Database
    pubsub: PubSub
    health: BotHealth
    conversations: Conversations
    desk: Desk
    background: Background
    accounts: Accounts  # agents' logins (the desk) and API tokens
    assist: Assist  # FAQ suggestions for agents, from the action server

    def shutdown(self) -> None:
        """A graceful stop: every open long-poll answers now, with what there is."""
        self.conversations.closing.set()
        self.pubsub.wake_all()
        self.background.stop()


def create_app(settings: HubSettings | None = None, migrate: bool = False) -> Flask:
    settings = settings or HubSettings.from_env()
    app = Flask(__name__)
    app.json = JSONProvider(app)  # deep nesting is a 400, not a RecursionError
    app.json.ensure_ascii = False
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024

    db = Database(settings.database_url)
    if migrate:
        db.migrate()
    pubsub = from_url(settings.redis_url)
    rasa = RasaClient(settings.rasa_url, settings.rasa_token, settings.rasa_timeout)
    health = BotHealth(settings.rasa_url, settings.rasa_token, settings.actions_url)
    conversations = Conversations(settings, db, rasa, pubsub, health)
    # After an agent resolves, the bot takes over again and asks for a rating.
    desk = Desk(db, pubsub, drafts_dir=settings.drafts_dir, on_resolved=conversations.ask_for_rating)
    app.extensions["faqbot"] = hub = Hub(
        settings,
        db,
        pubsub,
        health,
        conversations,
        desk,
        Background(health, conversations),
        Accounts(db),
        Assist(settings.actions_url),
    )

    from .api.agent import blueprint as agent_api
    from .api.cors import register as register_cors
    from .api.errors import register as register_errors
    from .api.headers import register as register_headers
    from .api.health import blueprint as health_api
    from .api.metrics import init_metrics
    from .channels.messenger import init_messenger
    from .channels.web import blueprint as web_channel
    from .delivery import init_delivery
    from .desk.setup import init_desk
    from .limits import init_limits
    from .reports.pages import blueprint as reports_pages
    from .widget import register_widget

    register_errors(app)
    app.register_blueprint(web_channel)
    init_messenger(app, hub)  # /webhooks/messenger (handoff/channels/messenger.py)
    init_delivery(app, hub, settings)  # bot/agent/system messages out to channels that push
    app.register_blueprint(agent_api)
    app.register_blueprint(health_api)
    init_metrics(app, settings.metrics_networks)  # GET /metrics for Prometheus: a token or an allowed network
    register_cors(app)  # the customer API, for the widget on WIDGET_ORIGINS
    register_headers(app)  # before the desk: its pages keep their own policy
    init_desk(app, hub)  # /desk: its pages, JSON API and events; sessions, CSRF, login throttling
    app.register_blueprint(reports_pages)  # /desk/reports: supervisors' figures, CSV, FAQ drafts from gaps
    register_widget(app)  # /widget/widget.js, /widget/widget.css and the demo shop at /
    init_limits(app)  # the customer API's rate limits, on the desk's Limiter (handoff/limits.py)
    return app
