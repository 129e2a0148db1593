"""SMTP settings, from the ``pss.mail.*`` keys of the ini file and ``PSS_SMTP_*`` variables."""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

#: ini key -> environment variable. A variable that is set wins over the file, so a password
#: can stay out of it.
KEYS = {
    "host": ("pss.mail.smtp_host", "PSS_SMTP_HOST"),
    "port": ("pss.mail.smtp_port", "PSS_SMTP_PORT"),
    "security": ("pss.mail.smtp_security", "PSS_SMTP_SECURITY"),
    "username": ("pss.mail.smtp_username", "PSS_SMTP_USERNAME"),
    "password": ("pss.mail.smtp_password", "PSS_SMTP_PASSWORD"),
    "timeout": ("pss.mail.smtp_timeout", "PSS_SMTP_TIMEOUT"),
    "from_address": ("pss.mail.from", "PSS_MAIL_FROM"),
    "max_attempts": ("pss.mail.max_attempts", "PSS_MAIL_MAX_ATTEMPTS"),
}
SECURITY = ("none", "starttls", "ssl")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}


@attrs.frozen
class MailSettings:
    """Where and how pss sends e-mail. Without a host nothing is sent: mails wait in the outbox
    with the reason, and go out once a server is configured."""

    host: str | None = None
    #: 25, 587 with STARTTLS or 465 with SSL unless given.
    port: int | None = None
    #: ``none``, ``starttls`` (upgrade a plain connection) or ``ssl`` (TLS from the start).
    security: str = attrs.field(default="none", validator=attrs.validators.in_(SECURITY))
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    timeout: float = 30.0
    from_address: str = "pss@localhost"
    #: Attempts before a mail is marked failed (the wait between them doubles, up to 6 hours).
    max_attempts: int = 10

    @property
    def configured(self) -> bool:
        return bool(self.host)

    @property
    def smtp_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any], environ: Mapping[str, str] | None = None
    ) -> MailSettings:
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field, (key, var) in KEYS.items():
            value = environ.get(var) or settings.get(key)
            if value not in (None, ""):
                values[field] = value
        for field, kind in (("port", int), ("max_attempts", int), ("timeout", float)):
            if field in values:
                values[field] = kind(values[field])
        if "security" in values:
            values["security"] = str(values["security"]).lower()
        return cls(**values)

    @classmethod
    def from_ini(
        cls, path: str | Path, section: str = "app:main", environ: Mapping[str, str] | None = None
    ) -> MailSettings:
        """The settings in ``section`` of an ini file (Pyramid's ``[app:main]`` by default)."""
        parser = configparser.ConfigParser(interpolation=None)
        if not parser.read(path, encoding="utf-8"):
            raise FileNotFoundError(f"no settings file at {path}")
        found = dict(parser[section]) if parser.has_section(section) else {}
        return cls.from_settings(found, environ)
