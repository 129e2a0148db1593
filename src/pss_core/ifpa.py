"""A small client for the IFPA API (v2, ``https://api.ifpapinball.com``): the two calls pss makes,
a player search by name and a player by IFPA number with the current WPPR rank.

The API key goes in the ``X-API-Key`` header. ``PSS_IFPA_API_BASE`` names another address (the
fake in :mod:`pss_testing.fakeifpa`) and ``PSS_IFPA_TIMEOUT`` the seconds a call may take. Every
way the IFPA can fail to answer (no connection, a timeout, a refused key, an error page, a body
that is not the API's) is one :class:`IfpaUnavailable`: the look-up is tried again later.
"""

from __future__ import annotations

import json
import os
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import attrs

API_BASE = "https://api.ifpapinball.com"
API_BASE_ENV = "PSS_IFPA_API_BASE"
TIMEOUT_ENV = "PSS_IFPA_TIMEOUT"
TIMEOUT = 10.0


class IfpaUnavailable(Exception):
    """The IFPA did not give an answer (the message says why, for the desk)."""


@attrs.frozen
class IfpaPlayer:
    player_id: int
    first_name: str
    last_name: str
    #: The current WPPR rank; ``None`` for a player not ranked (or where the answer had none).
    rank: int | None = None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


def comparable_name(name: str) -> str:
    """A name as compared with the IFPA's: case, accents and spacing do not count."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.casefold().split())


def _int(value: Any) -> int | None:
    """A positive whole number from the API, which sends numbers as strings too."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
        return number if number > 0 else None
    return None


def _rank_of(player: dict[str, Any]) -> int | None:
    """The WPPR rank of a ``GET /player/{id}`` player: ``player_stats.system.open.current_rank``
    (v2.1), or ``player_stats.current_rank`` / ``current_wppr_rank`` of the older answers."""
    stats = player.get("player_stats")
    if isinstance(stats, dict):
        system = stats.get("system")
        if isinstance(system, dict) and isinstance(system.get("open"), dict):
            rank = _int(system["open"].get("current_rank"))
            if rank is not None:
                return rank
        for key in ("current_rank", "current_wppr_rank"):
            rank = _int(stats.get(key))
            if rank is not None:
                return rank
    return _int(player.get("wppr_rank"))


def _player(raw: Any) -> IfpaPlayer | None:
    if not isinstance(raw, dict):
        return None
    player_id = _int(raw.get("player_id"))
    if player_id is None:
        return None
    return IfpaPlayer(
        player_id=player_id,
        first_name=str(raw.get("first_name") or "").strip(),
        last_name=str(raw.get("last_name") or "").strip(),
        rank=_rank_of(raw),
    )


@attrs.define
class IfpaClient:
    api_key: str
    base: str = attrs.field(factory=lambda: os.environ.get(API_BASE_ENV) or API_BASE)
    timeout: float = attrs.field(factory=lambda: float(os.environ.get(TIMEOUT_ENV) or TIMEOUT))

    def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        """The JSON answer of ``GET path``, or ``None`` for "no such player" (a 404)."""
        url = self.base.rstrip("/") + path
        if not url.startswith(("https://", "http://")):
            raise IfpaUnavailable(f"the IFPA address {self.base!r} is not http(s)")
        if params:
            url += "?" + urllib.parse.urlencode(params)
        request = urllib.request.Request(  # noqa: S310  http(s) only, checked above
            url,
            headers={"X-API-Key": self.api_key, "Accept": "application/json"},
        )
        try:
            # http(s) only, checked above
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = response.read()
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            if error.code in (401, 403):
                raise IfpaUnavailable("the IFPA refused the event's API key") from error
            raise IfpaUnavailable(f"the IFPA answered with an error ({error.code})") from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise IfpaUnavailable(f"the IFPA could not be reached ({reason})") from error
        try:
            answer = json.loads(body)
        except ValueError as error:
            raise IfpaUnavailable("the IFPA's answer was not JSON") from error
        if isinstance(answer, dict) and "error" in answer:
            raise IfpaUnavailable(f"the IFPA answered: {answer['error']}")
        return answer

    def search(self, name: str) -> list[IfpaPlayer]:
        """``GET /player/search?name=``: the players whose name contains ``name``."""
        answer = self._get("/player/search", {"name": name})
        if answer is None:
            return []
        if not isinstance(answer, dict):
            raise IfpaUnavailable("the IFPA's answer was not a search result")
        results = answer.get("results", answer.get("search")) or []
        if not isinstance(results, list):
            raise IfpaUnavailable("the IFPA's answer was not a search result")
        return [p for p in (_player(r) for r in results) if p is not None]

    def player(self, player_id: int) -> IfpaPlayer | None:
        """``GET /player/{id}``: the player with their current WPPR rank, or ``None``."""
        answer = self._get(f"/player/{int(player_id)}")
        if answer is None:
            return None
        if not isinstance(answer, dict):
            raise IfpaUnavailable("the IFPA's answer was not a player")
        found = answer.get("player")
        if isinstance(found, list):
            found = found[0] if found else None
        return _player(found)
