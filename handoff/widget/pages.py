"""The widget's files and the demo shop page.

- `/widget/widget.js` and `/widget/widget.css`: what a shop's page loads with one
  `<script>` tag (README, "Embed the widget"). Any site may load them (they are public
  files); whether a site may then talk to the customer API is CORS's call
  (`WIDGET_ORIGINS`, handoff/api/cors.py).
- `/`: *Domowo.pl*, a pretend shop with the widget on it, so that `make run` shows the
  product at once. Nothing inline: the page's styles and the widget are files.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, make_response, render_template, request, send_from_directory

blueprint = Blueprint("widget", __name__, template_folder="templates")
STATIC = Path(__file__).parent / "static"
FILES = frozenset({"widget.js", "widget.css", "demo.css"})
MAX_AGE = 300  # seconds: shops get a new widget within minutes; after that, revalidated by ETag

DEMO_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

PRODUCTS = [
    {"name": "Lampa stołowa Nordi", "note": "Dąb i len, ciepłe światło", "price": "189,00 zł", "kind": "lamp"},
    {"name": "Koc z wełny merynosa", "note": "150 × 200 cm, szałwiowy", "price": "249,00 zł", "kind": "blanket"},
    {"name": "Zestaw kubków Glina", "note": "4 sztuki, ręcznie szkliwione", "price": "119,00 zł", "kind": "mugs"},
    {"name": "Poduszka lniana", "note": "50 × 50 cm, piaskowa", "price": "79,00 zł", "kind": "pillow"},
]


def register_widget(app: Flask) -> None:
    """Serve `/widget/<file>` and the demo shop at `/`."""
    app.register_blueprint(blueprint)


@blueprint.get("/widget/<name>")
def widget_file(name: str):
    if name not in FILES:
        return {"error": "not found"}, 404
    response = send_from_directory(STATIC, name, max_age=MAX_AGE)
    response.headers["Access-Control-Allow-Origin"] = "*"  # public files, fetched without credentials
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@blueprint.get("/")
def demo():
    page = render_template("widget/demo.html", hub=request.host_url.rstrip("/"), products=PRODUCTS)
    response = make_response(page)
    response.headers["Content-Security-Policy"] = DEMO_POLICY
    return response
