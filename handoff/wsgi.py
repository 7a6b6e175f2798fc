"""The hub as a WSGI application, for gunicorn: `gunicorn handoff.wsgi:app`.
Migrations are applied beforehand (`faqbot db upgrade`), not by each worker."""

from handoff import create_app

app = create_app()
