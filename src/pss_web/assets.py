"""The web app's static files: where they live, and the digest that busts browser caches."""

from __future__ import annotations

import hashlib
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"


def static_digest() -> str:
    """A short digest of every static file: it changes the moment any of them does."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
