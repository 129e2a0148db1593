"""Typed refusals: every error a desk worker, scorekeeper or player can cause, with a plain message.

Each carries a machine-readable ``code`` and a ``kind`` that the web layer maps to a 4xx status.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A refusal the person at the desk or the machine can understand and act on."""

    # invalid | not_found | conflict | forbidden | busy | unavailable
    kind: ClassVar[str] = "invalid"
    default_code: ClassVar[str] = "invalid"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.details}


class InvalidInput(DomainError):
    """The request itself is malformed or out of range (a negative score, an unknown option)."""

    default_code = "invalid_input"


class NotFound(DomainError):
    kind = "not_found"
    default_code = "not_found"


class Refused(DomainError):
    """The request is well formed but the current state does not allow it."""

    kind = "conflict"
    default_code = "refused"


class PermissionDenied(DomainError):
    kind = "forbidden"
    default_code = "forbidden"


class Busy(DomainError):
    """Somebody else holds the lock this needs; trying again in a moment will work."""

    kind = "busy"
    default_code = "busy"


class Unavailable(DomainError):
    """The database cannot be reached right now (restarting, connection lost); nothing was
    changed, and the same request will work once it is back."""

    kind = "unavailable"
    default_code = "database_unavailable"


class DuplicateRegistration(Exception):
    """Two plugins claimed the same name (a format, a points curve, a restriction kind)."""
