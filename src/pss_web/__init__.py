"""The pss web app: Pyramid with traversal over a per-event resource tree."""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator


def make_app(settings: dict[str, Any] | None = None, **overrides: Any) -> Any:
    """Build the WSGI app. ``settings["pss.database_url"]`` names the database; tests may pass
    ``pss.engine`` (an Engine) or ``pss.session_factory`` instead."""
    settings = {**(settings or {}), **overrides}
    with Configurator(settings=settings) as config:
        config.include(".db")
        config.include("pyramid_jinja2")
        config.add_jinja2_renderer(".html")
        config.add_jinja2_search_path("pss_web:templates", name=".html")
        config.set_root_factory("pss_web.resources.Root")
        config.add_static_view("static", "pss_web:static", cache_max_age=3600)
        config.scan(".views")
        return config.make_wsgi_app()
