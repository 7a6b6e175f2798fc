"""The desk's pages: the one-page app at `/desk` (and `/desk/c/<id>`, the same page with a
conversation open), its static files at `/desk/static/...`, and `t(key)` for every
template of the desk, the login page included.

The pages carry no data beyond who is signed in: the script fetches the queue and the
conversations from the desk's JSON API and follows its events. So that a strict
Content-Security-Policy holds, nothing here is inline: the texts the script needs ride
in a data attribute, and script and styles are files.
"""

from __future__ import annotations

from flask import Blueprint, Flask, has_request_context, render_template, request

from .. import hub
from .auth import current_agent, login_required
from .texts import DEFAULT_LANGUAGE, LANGUAGES, TEXTS, table, text

blueprint = Blueprint(
    "desk_pages",
    __name__,
    url_prefix="/desk",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

# What the desk's own pages may load: only the hub's files, nothing inline. (An
# application-wide policy set elsewhere takes precedence: this only fills the gap.)
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def register_pages(app: Flask) -> None:
    """Serve the desk's pages and static files, and give every template `t(key)`."""
    app.register_blueprint(blueprint)
    app.context_processor(_template_texts)
    app.after_request(_security_headers)  # app-wide: the login page is another blueprint's


@blueprint.get("")
@login_required
def desk():
    return _page(None)


@blueprint.get("/c/<conversation_id>")
@login_required
def conversation(conversation_id: str):
    return _page(conversation_id)


def _security_headers(response):
    """Every response under /desk (pages, login, API, static files)."""
    if not request.path.startswith("/desk"):
        return response
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")  # it names the signed-in agent
    return response


def _page(conversation_id: str | None):
    agent = current_agent()
    language = desk_language()
    return render_template(
        "desk/desk.html",
        agent={"id": agent.id, "name": agent.name, "role": agent.role},
        conversation_id=conversation_id,
        desk_texts=table(language),
    )


def desk_language() -> str:
    """The language of the desk's texts: the one asked for in `?lang=` (the login page's
    switch), else the signed-in agent's choice, else the browser's preference."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    agent = current_agent()
    if agent is not None and agent.language in LANGUAGES:
        return agent.language
    default = hub().settings.default_language
    return request.accept_languages.best_match(LANGUAGES, default if default in LANGUAGES else DEFAULT_LANGUAGE)


def _template_texts() -> dict:
    if not has_request_context():
        return {}
    language = desk_language()
    return {
        "t": lambda key, **values: text(key, language, **values),
        "desk_language": language,
        "desk_languages": LANGUAGES,
        "desk_text_keys": TEXTS.keys(),
    }
