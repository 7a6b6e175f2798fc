"""`GET /metrics`: the hub's figures for Prometheus (see handoff/metrics.py).

Not public: queue sizes and error rates tell an outsider too much. A scrape is allowed
with `Authorization: Bearer $METRICS_TOKEN` (compared in constant time) or from an
address in METRICS_NETWORKS (by default this machine only). Behind a reverse proxy, set
TRUSTED_PROXIES so that the client's address, not the proxy's, is checked.
"""

from __future__ import annotations

import hmac
import ipaddress
from functools import cache

from flask import Blueprint, Flask, Response, jsonify, request

from .. import hub
from ..metrics import CONTENT_TYPE, render

blueprint = Blueprint("metrics", __name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@blueprint.get("/metrics")
def metrics():
    settings = hub().settings
    presented = _bearer_token()
    if presented is not None and _token_matches(presented, settings.metrics_token):
        return _scrape()
    if _address_allowed(request.remote_addr, parse_networks(settings.metrics_networks)):
        return _scrape()
    if presented is not None:
        response = jsonify(error="invalid metrics token")
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response, 401
    return jsonify(error="metrics are available with a token (METRICS_TOKEN) or from METRICS_NETWORKS"), 403


def _scrape() -> Response:
    response = Response(render(hub().db, hub().health), content_type=CONTENT_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _token_matches(presented: str, expected: str) -> bool:
    """Constant time; an empty METRICS_TOKEN accepts no token."""
    return bool(expected) and hmac.compare_digest(presented.encode(), expected.encode())


@cache
def parse_networks(networks: tuple[str, ...]) -> tuple[Network, ...]:
    """CIDRs such as "10.0.0.0/8"; a bad one stops the hub at start (`init_metrics`)."""
    return tuple(ipaddress.ip_network(network, strict=False) for network in networks)


def _address_allowed(address: str | None, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 on a dual-stack socket
    return any(ip in network for network in networks)


def init_metrics(app: Flask, networks: tuple[str, ...]) -> None:
    """Serve /metrics; a typo in METRICS_NETWORKS stops the hub at start, with the reason."""
    try:
        parse_networks(networks)
    except ValueError as exc:
        raise ValueError(f"METRICS_NETWORKS: {exc}") from exc
    app.register_blueprint(blueprint)
