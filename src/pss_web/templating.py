"""Template filters and globals (money, points, times, permissions)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import pass_context

from pss_core import timezones
from pss_core.contract import exact_points, points_text
from pss_web.assets import STATIC_DIR
from pss_web.idempotency import new_key
from pss_web.present import money
from pss_web.security import Permission
from pss_web.zones import zone_name


def _as_time(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@pass_context
def when(ctx: Any, value: Any, zone: str | None = None) -> str:
    """A time in the event's time zone (or ``zone``), as ``2025-06-01 14:05 CEST``."""
    if value is None or value == "":
        return ""
    moment = _as_time(value)
    if moment is None:
        return str(value)
    local = timezones.to_local(moment, zone or zone_name(ctx.get("request")))
    return f"{local:%Y-%m-%d %H:%M} {local:%Z}"


@pass_context
def local_input(ctx: Any, value: Any) -> str:
    """A time as a ``datetime-local`` input shows it: ``2025-06-01T14:05`` in the event's zone."""
    moment = _as_time(value) if value not in (None, "") else None
    if moment is None:
        return ""
    return f"{timezones.to_local(moment, zone_name(ctx.get('request'))):%Y-%m-%dT%H:%M}"


@pass_context
def time_zone(ctx: Any) -> str:
    """The time zone of the page (its event's), for scripts that show times."""
    return zone_name(ctx.get("request"))


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
    env.filters["local_input"] = local_input
    env.globals["time_zone"] = time_zone
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
