"""Every error is JSON `{"error": ...}` with its status; nothing leaks a traceback."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from ..metrics import dependency_error
from ..store import Conflict, NotFound

log = logging.getLogger(__name__)

# Seconds a client should wait before retrying while the database is unreachable: about
# what a restart or a failover takes; pool_pre_ping reconnects on the first request after.
DATABASE_RETRY_AFTER = 5


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return jsonify(error=exc.message), exc.status

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound):
        return jsonify(error="no such conversation"), 404

    @app.errorhandler(Conflict)
    def conflict(exc: Conflict):
        return jsonify(error=str(exc)), 409

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return jsonify(error=exc.description or exc.name), exc.code

    @app.errorhandler(sa_exc.DBAPIError)  # OperationalError, InterfaceError, IntegrityError...
    @app.errorhandler(sa_exc.TimeoutError)
    def database_error(exc: sa_exc.SQLAlchemyError):
        if not database_unavailable(exc):
            return unexpected(exc)
        log.error("database unavailable: %s", _summary(exc))
        dependency_error("database")
        response = jsonify(error="the service is temporarily unavailable, please retry shortly")
        response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
        return response, 503

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error")
        return jsonify(error="internal error"), 500


def database_unavailable(exc: Exception) -> bool:
    """Whether `exc` says the database cannot be reached right now (a 503: retrying later
    can succeed), as opposed to a bug or bad data (a 500).

    PEP 249's OperationalError and InterfaceError cover refused, dropped and unusable
    connections (and SQLite's "database is locked"); SQLAlchemy's TimeoutError is a pool
    with no free connection; any other DBAPIError counts when SQLAlchemy recognised it as
    a disconnect (`connection_invalidated`).
    """
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated


def _summary(exc: sa_exc.SQLAlchemyError) -> str:
    """The driver's first line, without SQLAlchemy's SQL text and parameters."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}"
