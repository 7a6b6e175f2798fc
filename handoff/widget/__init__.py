"""The website chat widget (`/widget/widget.js`, `/widget/widget.css`) and the demo shop
page at `/` that shows it. See handoff/widget/pages.py."""

from .pages import register_widget

__all__ = ["register_widget"]
