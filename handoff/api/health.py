"""`GET /health`: the hub and each part it depends on, for people and for supervisors.

200 while the hub can take customers' messages (its database answers), even if the bot
is starting or away: messages then wait for it. 503 when the database does not answer.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app
from sqlalchemy import text

from .. import hub

blueprint = Blueprint("health", __name__)


@blueprint.get("/health")
def health():
    database = _database()
    bot = hub().health.state()
    phase = hub().health.phase()  # "ready", "starting" or "down"
    body: dict[str, Any] = {
        "status": ("ok" if phase == "ready" else phase) if database["ok"] else "unavailable",
        "database": database,
        "rasa": bot.rasa.as_json(),
        "action_server": bot.actions.as_json(),
        "bot": phase,
        "live_connections": hub().pubsub.subscriber_count(),  # open long-polls in this process
    }
    delivery = current_app.extensions.get("faqbot_delivery")
    if delivery is not None and database["ok"]:  # channels that push (Messenger): waiting or failing
        body["deliveries"] = delivery.status()
    return body, 200 if database["ok"] else 503


def _database() -> dict[str, Any]:
    try:
        with hub().db.transaction() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # any failure here means: not usable now
        return {"ok": False, "detail": exc.__class__.__name__}
    return {"ok": True, "detail": "answering"}
