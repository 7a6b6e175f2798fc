"""The key that signs the desk's session cookies and CSRF tokens.

Every hub process must use the same key, or a session opened through one gunicorn
worker would be refused by the next: FAQBOT_SECRET_KEY when set, else a random key kept
in `var/secret_key` (created once, readable by its owner only).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from knowledge.settings import PROJECT_ROOT

SECRET_KEY_FILE = PROJECT_ROOT / "var" / "secret_key"


def secret_key(configured: str, path: Path = SECRET_KEY_FILE) -> str:
    """`configured` if set; else the key in `path`, made on first use.

    Several workers may start at once: the key is written to a temporary file and linked
    into place, which fails if another process got there first; then that one's key is
    read. Nobody ever reads a half-written key."""
    if configured:
        return configured
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
        with contextlib.suppress(FileExistsError):  # another process was first: use its key
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    key = path.read_text().strip()
    if len(key) < 32:
        raise ValueError(f"{path} holds no usable secret key (delete it to get a new one)")
    return key
