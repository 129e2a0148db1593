"""The pss web app: Pyramid with traversal over a per-event resource tree.

Each web subpackage has an ``includeme``; all includes happen before the one ``config.scan`` of
:mod:`pss_web.views`, which picks up every module in that package.
"""

from __future__ import annotations

import warnings
from datetime import timedelta
from typing import TYPE_CHECKING, Any

# WebOb 1.8 imports the standard library's ``cgi`` module, deprecated since Python 3.11 (it is
# not removed before 3.13); silence just that, so running with -W error still works. A filter,
# not an import of WebOb under one: WebOb comes with Pyramid, which this package imports only
# when an app is made (``pss --help`` loads this package for ``pss serve``'s options).
warnings.filterwarnings("ignore", message="'cgi' is deprecated", category=DeprecationWarning)

if TYPE_CHECKING:
    from pss_core.services.auth import ThrottlePolicy

# Pyramid, the services and the models are imported by make_app, not with the package:
# ``pss --help`` loads ``pss_web.cli`` (the ``pss serve`` entry point) and nothing more.


def throttle_policy(settings: dict[str, Any]) -> ThrottlePolicy:
    """Login throttling from settings (``pss.login.max_failures`` and friends)."""

    from pss_core.services.auth import DEFAULT_POLICY, ThrottlePolicy

    def number(name: str, default: int) -> int:
        return int(settings.get(f"pss.login.{name}", default))

    return ThrottlePolicy(
        max_failures=number("max_failures", DEFAULT_POLICY.max_failures),
        device_max_failures=number("device_max_failures", DEFAULT_POLICY.device_max_failures),
        client_max_failures=number("client_max_failures", DEFAULT_POLICY.client_max_failures),
        event_max_failures=number("event_max_failures", DEFAULT_POLICY.event_max_failures),
        window=timedelta(
            minutes=number("window_minutes", int(DEFAULT_POLICY.window.total_seconds() // 60))
        ),
        lockout=timedelta(
            minutes=number("lockout_minutes", int(DEFAULT_POLICY.lockout.total_seconds() // 60))
        ),
    )


def make_app(settings: dict[str, Any] | None = None, **overrides: Any) -> Any:
    """Build the WSGI app. ``settings["pss.database_url"]`` names the database; tests may pass
    ``pss.engine`` (an Engine) or ``pss.session_factory`` instead, and ``pss.plugins`` (a
    ``Pss`` manager)."""
    from pyramid.config import Configurator
    from pyramid.settings import asbool
    from pyramid.static import QueryStringConstantCacheBuster

    from pss_core.standings import StandingsCache
    from pss_web.assets import STATIC_DIR, static_digest

    settings = {**(settings or {}), **overrides}
    # The transaction is annotated before traversal, when no login scope is known yet.
    settings.setdefault("tm.annotate_user", False)
    with Configurator(settings=settings) as config:
        config.include(".db")
        config.include(".readcache")
        config.include(".limits")
        config.include("pyramid_jinja2")
        config.add_jinja2_renderer(".html")
        config.add_jinja2_search_path("pss_web:templates", name=".html")
        config.commit()
        env = config.get_jinja2_environment(".html")
        from pss_web import templating

        templating.configure(env)
        config.include(".security")
        config.include(".sanity")
        config.include(".forms")
        config.include(".viewkit")
        config.include(".idempotency")
        config.include(".layout")
        config.set_root_factory("pss_web.resources.Root")
        config.include(".resources")
        # A filesystem path, not an asset spec: asset specs go through pkg_resources, which does
        # not know every import loader (pytest's assertion rewriter, for one).
        static = str(STATIC_DIR)
        config.add_static_view(
            "static", static, cache_max_age=0 if asbool(settings.get("pss.dev")) else 31536000
        )
        # URLs carry a digest of the files, so browsers may keep them for a year and still
        # fetch new ones the moment they change.
        config.add_cache_buster(static + "/", QueryStringConstantCacheBuster(static_digest()))
        config.registry["pss.throttle_policy"] = throttle_policy(settings)
        config.registry["pss.standings_cache"] = StandingsCache(
            maxsize=int(settings.get("pss.standings_cache_size", 64))
        )
        config.scan("pss_web.views")
        return config.make_wsgi_app()
