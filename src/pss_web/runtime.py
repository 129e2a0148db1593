"""What the app's own work needs beyond the request: its plugins, its payment providers and the
runtime of the jobs it runs in-process (SQLite), each made once from the app's settings."""

from __future__ import annotations

from typing import Any

from pss_core.jobs import Runtime
from pss_core.mail.settings import MailSettings
from pss_core.payments.providers import Payments
from pss_core.plugins import Pss, default_pss


def plugins_of(registry: Any) -> Pss:
    """The app's plugin manager: the one its settings name (tests), else the installed plugins."""
    pss: Pss = registry.settings.get("pss.plugins") or default_pss()
    return pss


def payments_of(request: Any) -> Payments:
    """The installed payment providers, made from the app's settings on first use (tests put
    their own in ``registry["pss.payments"]``)."""
    return _payments(request.registry)


def _payments(registry: Any) -> Payments:
    payments = registry.get("pss.payments")
    if payments is None:
        payments = registry["pss.payments"] = Payments.of(plugins_of(registry), registry.settings)
    return payments


def mail_settings_of(registry: Any) -> MailSettings:
    """SMTP from the ini file's ``pss.mail.*`` keys (``PSS_SMTP_*`` variables win)."""
    mail = registry.get("pss.mail")
    if mail is None:
        mail = registry["pss.mail"] = MailSettings.from_settings(registry.settings)
    return mail


def job_runtime(registry: Any, bind: Any) -> Runtime:
    """The runtime of jobs the app defers that run in this process after commit (on SQLite):
    the app's plugins, payment providers and SMTP settings, not the environment's."""
    return Runtime(
        bind=bind,
        pss=plugins_of(registry),
        payments=_payments(registry),
        mail=mail_settings_of(registry),
    )
