"""The event's time zone: times are stored in UTC and shown, and typed, in the zone of the
venue (an IANA name such as ``Europe/Berlin``), daylight saving time included."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pss_core.errors import InvalidInput

DEFAULT = "UTC"


def check_time_zone(name: str) -> str:
    """``name`` if it is a time zone this machine knows (``Europe/Berlin``, ``UTC``)."""
    name = (name or "").strip()
    try:
        if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"{name or 'An empty name'} is not a time zone: use a name like Europe/Berlin, "
            "America/Chicago or UTC.",
            code="invalid_time_zone",
            field="time_zone",
        ) from None
    return name


def zone(name: str | None) -> ZoneInfo:
    """The zone ``name``; UTC for none or for a name this machine no longer knows."""
    try:
        return ZoneInfo(name or DEFAULT)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT)


def to_local(value: datetime, name: str | None) -> datetime:
    return value.astimezone(zone(name))


def from_local(value: datetime, name: str | None, *, field: str | None = None) -> datetime:
    """The UTC time of a wall-clock time typed in zone ``name``; a time with its own offset
    keeps it. A time the clocks skip (spring forward) is refused; one they show twice (fall
    back) is the first of the two."""
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    tz = zone(name)
    local = value.replace(tzinfo=tz, fold=0)
    back = local.astimezone(UTC).astimezone(tz)
    if back.replace(tzinfo=None) != value:
        raise InvalidInput(
            f"{value:%Y-%m-%d %H:%M} does not exist in {tz.key}: the clocks skip it (daylight "
            "saving time starts). Choose a time before or after.",
            code="nonexistent_time",
            field=field,
        )
    return local.astimezone(UTC)
