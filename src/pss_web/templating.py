"""Template filters and globals (money, points, times, permissions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pss_core.contract import exact_points, points_text
from pss_web.assets import STATIC_DIR
from pss_web.idempotency import new_key
from pss_web.present import money
from pss_web.security import Permission


def when(value: Any) -> str:
    """A time as ``2025-06-01 14:05 UTC`` (pages turn it into local time in the browser)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return f"{value:%Y-%m-%d %H:%M} UTC"


def points(value: Any) -> str:
    """Points as people read them: ``17``, ``17.5``, ``33.33`` (never ``17.500000001``)."""
    if value is None or value == "":
        return ""
    return points_text(exact_points(value))


def iso(value: Any) -> str:
    if value is None or value == "":
        return ""
    return value if isinstance(value, str) else value.isoformat()


def configure(env: Any) -> None:
    env.filters["money"] = lambda cents, currency="usd": money(cents, currency)
    env.filters["points"] = points
    env.filters["when"] = when
    env.filters["iso"] = iso
    env.filters["zip_titles"] = zip_titles
    env.globals["P"] = Permission
    env.globals["static_path"] = static_path
    env.globals["new_idempotency_key"] = new_key


def static_path(name: str) -> str:
    """The file behind a static URL: ``request.static_url(static_path("pss.css"))``."""
    return str(STATIC_DIR / name)


def zip_titles(values: Any, objs: Any = None) -> list[tuple[Any, Any]]:
    """``(value, title)`` pairs for a select: from dicts with name/title, or values as titles."""
    if objs:
        return [(o["name"], o["title"]) for o in objs]
    return [(v, v) for v in values]
