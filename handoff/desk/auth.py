"""Logging in to the desk: the login form, sessions, CSRF, and slowing down guessing.

- A session is Flask's signed cookie (HttpOnly, SameSite=Lax, Secure behind HTTPS, path
  /desk) holding the agent's id, when it logged in, and a version derived from its
  password hash. It ends `session_hours` after the login whatever happens meanwhile, at
  logout, when the agent is deactivated, and when its password changes.
- Every state change under /desk needs the CSRF token (form field `csrf_token` or header
  `X-CSRFToken`); the customer and bearer-token APIs, authenticated by tokens a browser
  never sends on its own, are outside /desk and untouched.
- Failed logins count per IP and name, per IP and per name (Flask-Limiter, shared
  through Redis when REDIS_URL is set); past the limit the form answers 429 with
  Retry-After instead of checking the password. Nothing sleeps.
- Nothing of the desk shows to anonymous visitors: /desk pages redirect to the form,
  /desk/api answers 401.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from flask import Blueprint, Flask, current_app, g, jsonify, redirect, render_template, request, session
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError, CSRFProtect

from .. import hub
from ..accounts import Account
from ..api.errors import ApiError
from ..limits import limiter as shared_limiter
from ..limits import too_many_requests

blueprint = Blueprint("desk_auth", __name__, url_prefix="/desk", template_folder="templates")

DESK = "/desk"
API = "/desk/api"
OPEN_PATHS = ("/desk/login", "/desk/logout", "/desk/static/")  # reachable without a session
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
LOGIN_TEMPLATE = "desk/login.html"
LOGIN_ENDPOINT = "desk_auth.login_submit"
# Failed logins allowed per minute: guessing one agent's password from one address, from
# one address across names (spraying), and one name from many addresses.
LOGIN_LIMITS: tuple[tuple[str, Callable[[], str]], ...] = (
    ("5 per minute", lambda: f"{_client_address()}|{_login_name()}"),
    ("30 per minute", lambda: _client_address()),
    ("30 per minute", lambda: f"name|{_login_name()}"),
)

# -- the current agent ---------------------------------------------------------------------


def current_agent() -> Account | None:
    """The agent logged in with this request's session, or None (and the session is
    cleared) when there is none, it expired, the agent was deactivated or its password
    changed since the login."""
    if "desk_agent" not in g:
        g.desk_agent = _session_agent()
    return g.desk_agent


def _session_agent() -> Account | None:
    agent_id, since = session.get("agent"), session.get("since")
    if not isinstance(agent_id, int) or not isinstance(since, int | float):
        return None
    lifetime = hub().settings.session_hours * 3600
    account = hub().accounts.get(agent_id) if time.time() - since < lifetime else None
    if account is None or not account.active or account.session_version != session.get("version"):
        session.clear()
        return None
    return account


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """For the desk's routes: pages redirect anonymous visitors to the login form (and
    back afterwards), /desk/api answers 401."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_agent() is None:
            return _refuse_anonymous()
        return view(*args, **kwargs)

    return wrapper


def _refuse_anonymous():
    if _is_api(request.path):
        raise ApiError(401, "log in to the desk first")
    target = request.full_path.rstrip("?") if request.method == "GET" else DESK
    return redirect(f"/desk/login?next={quote(target, safe='/')}", 303)


# -- the login form -------------------------------------------------------------------------


@blueprint.get("/login")
def login_form():
    next_path = safe_next(request.args.get("next"))
    if current_agent() is not None:
        return redirect(next_path, 303)
    return _login_page(next_path=next_path)


@blueprint.post("/login")
def login_submit():
    name = request.form.get("name", "")
    next_path = safe_next(request.form.get("next"))
    account = hub().accounts.authenticate(name, request.form.get("password", ""))
    if account is None:
        return _login_page("login_failed", next_path, name, status=401)
    session.clear()  # nothing of an earlier session (or its CSRF token) carries over
    session.permanent = True
    session.update(agent=account.id, version=account.session_version, since=time.time())
    hub().accounts.touch(account.id)
    return redirect(next_path, 303)


@blueprint.post("/logout")
def logout():
    session.clear()
    return redirect("/desk/login", 303)


def _login_page(error: str | None = None, next_path: str = DESK, name: str = "", status: int = 200):
    """The form (engineer B's template), with `error` one of the desk's text keys:
    login_failed, login_throttled or login_form_expired."""
    return render_template(LOGIN_TEMPLATE, error=error, next=next_path, name=name[:100]), status


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a local path under /desk, else /desk itself (so the
    form cannot be made to send an agent to another site)."""
    if not isinstance(value, str) or not value or len(value) > 2000:
        return DESK
    if any(ord(c) < 32 or c == "\\" for c in value):
        return DESK
    parts = urlsplit(value)
    path = unquote(parts.path)
    if parts.scheme or parts.netloc or not (path == DESK or path.startswith(DESK + "/")):
        return DESK
    if ".." in path.split("/") or path.startswith((API, *OPEN_PATHS)):
        return DESK
    return parts.path + (f"?{parts.query}" if parts.query else "")


# -- wiring -------------------------------------------------------------------------------


def init_auth(app: Flask) -> None:
    """Sessions, CSRF, login throttling and the guard of every /desk route, on `app`."""
    settings = app.extensions["faqbot"].settings
    app.config.update(
        SESSION_COOKIE_NAME="faqbot_desk",
        SESSION_COOKIE_PATH=DESK,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
        SESSION_REFRESH_EACH_REQUEST=False,  # the lifetime counts from the login
        # CSRF is checked by `_guard` on /desk only (the token APIs need none), and a
        # token lives as long as its session (an open desk would otherwise fail after 1 h).
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,
    )
    csrf = CSRFProtect(app)
    app.before_request(_guard(csrf))  # before the limiter: a forged form costs no attempt
    _throttle_logins(app)
    app.errorhandler(CSRFError)(_csrf_refused)
    app.errorhandler(RateLimitExceeded)(too_many_requests)  # the desk's own answer below, else JSON
    app.register_blueprint(blueprint)


def _guard(csrf: CSRFProtect) -> Callable[[], Any]:
    def guard():
        path = request.path
        if not (path == DESK or path.startswith(DESK + "/")):
            return None
        if not path.startswith(OPEN_PATHS) and current_agent() is None:
            return _refuse_anonymous()
        if request.method in UNSAFE_METHODS and current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect(apply_exemptions=True)
        return None

    return guard


def _throttle_logins(app: Flask) -> None:
    limiter = shared_limiter(app)  # the hub's one Limiter (handoff/limits.py): memory, or Redis
    for limit, key in LOGIN_LIMITS:
        limiter.limit(
            limit,
            key_func=key,
            methods=["POST"],
            deduct_when=lambda response: response.status_code == 401,  # only failed logins count
            exempt_when=lambda: request.endpoint != LOGIN_ENDPOINT,
        )(blueprint)


def _client_address() -> str:
    return request.remote_addr or "unknown"


def _login_name() -> str:
    return request.form.get("name", "").strip().casefold()[:100]


def _csrf_refused(exc: CSRFError):
    if _is_api(request.path):
        return jsonify(error=f"CSRF check failed: {exc.description} Reload the desk."), 400
    if request.path == "/desk/login":
        return _login_page("login_form_expired", safe_next(request.form.get("next")), request.form.get("name", ""), 400)
    return _login_page("login_form_expired", status=400)


def too_many_attempts(exc: RateLimitExceeded):
    limit = current_app.extensions["faqbot_limiter"].current_limit
    seconds = max(1, int(limit.reset_at - time.time()) + 1) if limit is not None else 60
    if request.accept_mimetypes.best == "application/json" or _is_api(request.path):
        response = jsonify(error=f"too many failed logins: try again in {seconds} s")
        response.status_code = 429
    else:
        name, next_path = request.form.get("name", ""), safe_next(request.form.get("next"))
        body, _ = _login_page("login_throttled", next_path, name)
        response = current_app.make_response((body, 429))
    response.headers["Retry-After"] = str(seconds)
    return response


def _is_api(path: str) -> bool:
    """JSON for scripts (a 401, not the login form): the desk's API and any `.json`
    (the reports' `report.json`)."""
    return path == API or path.startswith(API + "/") or path.endswith(".json")
