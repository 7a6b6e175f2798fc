"""Writing FAQ files in tests, with line numbers that stay readable."""

from __future__ import annotations

from pathlib import Path


def lines(*source: str) -> str:
    """File text from its lines: argument k is line k, which keeps line numbers readable."""
    return "\n".join(source) + "\n"


def write(root: Path, rel: str, text: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path
