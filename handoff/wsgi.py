"""The hub as a WSGI application, for gunicorn: `gunicorn --config python:handoff.gunicorn_conf
handoff.wsgi:app`. Migrations are applied beforehand (`faqbot db upgrade`, or the
launcher), not by each worker. Each worker runs its own background loop."""

from handoff import create_app

app = create_app()
app.extensions["faqbot"].background.start()
app.extensions["faqbot_delivery"].start()  # sends to Messenger (and any channel that pushes)
